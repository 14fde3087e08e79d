package dev.chronodr.monitor;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;

import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;

/**
 * An expensive check whose outcome a resident monitor reuses for a while: while fresh it
 * asks for no SQL and returns what it found last. Freshness is judged against the start of
 * the pass, so the check's SQL and its verdict agree within one pass. An UNKNOWN (a
 * repository that could not be read) is not kept: the next pass tries again.
 */
final class CachedCheck implements HealthCheck {
    private final HealthCheck inner;
    private final Duration keep;
    private final Supplier<Instant> passStart;
    private CheckOutcome last;
    private Instant lastAt;

    CachedCheck(HealthCheck inner, Duration keep, Supplier<Instant> passStart) {
        this.inner = inner;
        this.keep = keep;
        this.passStart = passStart;
    }

    private boolean fresh() {
        return last != null && Duration.between(lastAt, passStart.get()).compareTo(keep) < 0;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public String summary() {
        return inner.summary();
    }

    @Override
    public List<Threshold> thresholds() {
        return inner.thresholds();
    }

    @Override
    public boolean needsConnection() {
        return inner.needsConnection();
    }

    @Override
    public boolean needsMonitorRole(ServerFacts server) {
        return inner.needsMonitorRole(server);
    }

    @Override
    public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
        return fresh() ? List.of() : inner.queries(server, settings);
    }

    @Override
    public CheckOutcome evaluate(CheckContext ctx) {
        if (fresh()) {
            return last;
        }
        CheckOutcome o = inner.evaluate(ctx);
        if (o.status() != Status.UNKNOWN) {
            last = o;
            lastAt = passStart.get();
        }
        return o;
    }
}
