package dev.chronodr.verify;

import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Status;
import dev.chronodr.pg.ServerInfo;

/**
 * Runs a list of {@link VerifyCheck}s in order, honouring --only and --skip, and collects
 * one {@link VerifyReport}. The list is the extension point: the command builds it
 * ({@link DatabaseChecks#standard()} today) and new checks are added there.
 */
public final class VerifyService {
    private static final Logger log = LoggerFactory.getLogger(VerifyService.class);

    private final List<VerifyCheck> checks;

    public VerifyService(List<VerifyCheck> checks) {
        this.checks = List.copyOf(checks);
        Set<String> names = new LinkedHashSet<>();
        for (VerifyCheck c : checks) {
            if (!names.add(c.name())) {
                throw new IllegalArgumentException("two checks named " + c.name());
            }
        }
    }

    public List<String> names() {
        return checks.stream().map(VerifyCheck::name).toList();
    }

    /** Unknown names in --only/--skip are a usage error that lists the known ones. */
    public void validate(VerifyRequest request) {
        Set<String> unknown = new TreeSet<>();
        Set<String> known = Set.copyOf(names());
        request.only().stream().filter(n -> !known.contains(n)).forEach(unknown::add);
        request.skip().stream().filter(n -> !known.contains(n)).forEach(unknown::add);
        if (!unknown.isEmpty()) {
            throw ChronoException.usage("unknown check " + String.join(", ", unknown),
                    "checks: " + String.join(", ", names()));
        }
        if (!request.only().isEmpty() && request.skip().containsAll(request.only())) {
            throw ChronoException.usage("--skip leaves out every check --only names", "nothing would be checked");
        }
        if (request.jobs() < 1 || request.jobs() > VerifyRequest.MAX_JOBS) {
            throw ChronoException.usage("--jobs " + request.jobs() + " is out of range", "use 1 to " + VerifyRequest.MAX_JOBS);
        }
        if (request.statementTimeout().isNegative()) {
            throw ChronoException.usage("--statement-timeout cannot be negative", "use e.g. 30s, 5min, 2h, or 0 for no limit");
        }
    }

    public VerifyReport verify(VerifyContext context) {
        VerifyRequest request = context.request();
        validate(request);
        OffsetDateTime started = Clock.now();
        long t0 = System.nanoTime();
        List<CheckResult> results = new ArrayList<>();
        try {
            for (VerifyCheck check : checks) {
                String excluded = excluded(check, request);
                if (excluded != null) {
                    results.add(CheckResult.skipped(check, excluded, List.of()));
                    continue;
                }
                long c0 = System.nanoTime();
                long connect0 = context.connectNanos();
                CheckResult r;
                try {
                    context.progress().update(check.name() + ": " + check.title());
                    r = check.run(context);
                } catch (SQLException e) {
                    log.debug("check {} failed", check.name(), e);
                    SqlErrors.Judgement j = SqlErrors.judge(e, request.statementTimeout(),
                            context.openedDatabase() == null ? null : context.openedDatabase().server());
                    // An error outside any one object (a catalog query) cannot be judged as damage.
                    String message = j.status() == Status.CRITICAL ? "not checked: " + j.message() : j.message();
                    r = CheckResult.unknown(check, message, j.hint() == null ? List.of() : List.of(j.hint()));
                } finally {
                    context.progress().done();
                }
                long own = System.nanoTime() - c0 - (context.connectNanos() - connect0);
                results.add(r.withElapsedMs(Math.max(0, own) / 1_000_000));
            }
            DatabaseSession db = context.openedDatabase();
            VerifyReport.Server server = null;
            String scope = null;
            if (db != null) {
                ServerInfo s = db.server();
                server = new VerifyReport.Server(s.versionString(), s.version().num(), s.role(), s.database(), s.currentUser(),
                        s.superuser(), s.dataChecksums());
                scope = db.scope().description();
            }
            return new VerifyReport(context.target().name(), context.target().connection().describe(), server, scope,
                    started, (System.nanoTime() - t0) / 1_000_000, results);
        } finally {
            context.close();
        }
    }

    private static String excluded(VerifyCheck check, VerifyRequest request) {
        if (!request.only().isEmpty() && !request.only().contains(check.name())) {
            return "not selected (--only " + String.join(",", new TreeSet<>(request.only())) + ")";
        }
        if (request.skip().contains(check.name())) {
            return "left out with --skip";
        }
        return null;
    }
}
