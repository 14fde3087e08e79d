package dev.chronodr.monitor;

import java.util.List;

import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/** Can we reach the database at all? Down is CRITICAL, naming host, port and the error. */
final class ConnectionCheck implements HealthCheck {
    @Override
    public String name() {
        return "connection";
    }

    @Override
    public String summary() {
        return "the database accepts a connection (down is CRITICAL)";
    }

    @Override
    public boolean needsConnection() {
        return false;
    }

    @Override
    public CheckOutcome evaluate(CheckContext ctx) {
        ConnectOutcome c = ctx.connection();
        Metric up = Metric.of("up", c.connected() ? 1 : 0, Unit.COUNT, "1 when chrono-dr could connect to the database, else 0.");
        if (!c.connected()) {
            // Always name host and port: the driver's message does for a refused connection, not for an unknown host.
            String msg = c.error().contains(hostPort(c.where())) ? c.error() : "cannot connect to " + c.where() + ": " + c.error();
            return new CheckOutcome(name(), Status.CRITICAL, msg
                    + (c.hint() == null ? "" : " (" + c.hint() + ")"), List.of(up), List.of());
        }
        ServerFacts s = ctx.server();
        Metric ms = Metric.of("connect_time", c.millis() / 1000.0, Unit.SECONDS, "Time to connect and authenticate.");
        return new CheckOutcome(name(), Status.OK, "connected to " + c.where() + " as " + s.user() + " in " + c.millis()
                + " ms (PostgreSQL " + s.versionString() + ", " + s.role() + ")", List.of(up, ms), List.of());
    }

    /** "host:port" of "host:port/db". */
    private static String hostPort(String where) {
        int slash = where.indexOf('/');
        return slash < 0 ? where : where.substring(0, slash);
    }
}
