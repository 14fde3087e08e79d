package dev.chronodr.monitor;

import dev.chronodr.report.CheckOutcome;

import java.util.List;

/**
 * One thing {@code chrono-dr monitor} watches. A check says what SQL it needs (built for the
 * server it will run on); the service runs the SQL of all selected checks in one round trip
 * and then asks each check to judge its rows. Checks that need no database (the backup
 * repository, say) return no queries and say so with {@link #needsConnection()}.
 *
 * <p>To add a check: implement this interface (its thresholds included) and add it to
 * {@link MonitorChecks#all()}; nothing else needs to know about it.
 */
public interface HealthCheck {
    /** The name used by {@code --check}, in JSON and in metrics. snake_case. */
    String name();

    /** What it watches, in a few words, for {@code --help} and docs. */
    String summary();

    /** The levels it judges with, and their built-in values; flags and config override them by name. */
    default List<Threshold> thresholds() {
        return List.of();
    }

    /** Whether it can only run with a database connection; the ones that can't run without get UNKNOWN. */
    default boolean needsConnection() {
        return true;
    }

    /**
     * Whether it reads other sessions' statistics, which needs pg_monitor (pg_read_all_stats).
     * Without that role the data would be silently incomplete, so the check is UNKNOWN, never OK.
     */
    default boolean needsMonitorRole(ServerFacts server) {
        return false;
    }

    /** The SQL it needs for this server; none by default. */
    default List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
        return List.of();
    }

    CheckOutcome evaluate(CheckContext ctx);
}
