package dev.chronodr.monitor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.Status;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/**
 * The statements with the highest mean execution time in pg_stat_statements, when the
 * extension is installed in this database. The timing columns were renamed in version 1.8
 * (total_time, mean_time became total_exec_time, mean_exec_time), so the query is built
 * for the version installed here, which after pg_upgrade may be older than the server's.
 */
final class SlowStatementsCheck implements HealthCheck {
    static final String STATEMENTS = "statements";
    static final int LISTED = 5;

    @Override
    public String name() {
        return "slow_statements";
    }

    @Override
    public String summary() {
        return "statements with the highest mean time in pg_stat_statements (when installed)";
    }

    @Override
    public List<Threshold> thresholds() {
        return List.of(Threshold.higher("slow_statement", Unit.SECONDS, 1d, 5d, "mean execution time of a statement in pg_stat_statements"));
    }

    @Override
    public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
        if (server.pgssVersion() == null || !preloaded(server)) {
            return List.of();
        }
        return List.of(query(server.pgssVersion(), server.pgssSchema(), settings.statementMinCalls()));
    }

    /** Unknown (setting hidden from this role) counts as loaded: the query then says for itself. */
    static boolean preloaded(ServerFacts server) {
        String libs = server.sharedPreloadLibraries();
        return libs == null || libs.contains("pg_stat_statements");
    }

    static SqlQuery query(String extVersion, String schema, long minCalls) {
        String total = dev.chronodr.pg.StatementStats.totalColumn(extVersion);
        String mean = dev.chronodr.pg.StatementStats.meanColumn(extVersion);
        return SqlQuery.of(STATEMENTS, """
                SELECT s.calls, s.TOTAL_COLUMN::float8 AS total_ms, s.MEAN_COLUMN::float8 AS mean_ms, s.rows,
                       d.datname::text AS datname, r.rolname::text AS rolname, left(s.query, 500) AS query
                FROM THE_VIEW s
                LEFT JOIN pg_database d ON d.oid = s.dbid
                LEFT JOIN pg_roles r ON r.oid = s.userid
                WHERE s.calls >= ?
                ORDER BY s.MEAN_COLUMN DESC
                LIMIT LISTED
                """.replace("TOTAL_COLUMN", total).replace("MEAN_COLUMN", mean).replace("LISTED", String.valueOf(LISTED))
                .replace("THE_VIEW", Identifiers.qualified(schema, "pg_stat_statements")), minCalls);
    }

    /** "1.10" >= 1.8: extension versions compare number by number, not as text. */
    static boolean atLeast(String version, int major, int minor) {
        return dev.chronodr.pg.StatementStats.atLeast(version, major, minor);
    }

    @Override
    public CheckOutcome evaluate(CheckContext ctx) {
        ServerFacts s = ctx.server();
        if (s.pgssVersion() == null) {
            return CheckOutcome.of(name(), Status.SKIPPED, "pg_stat_statements is not installed in database " + s.database()
                    + " (CREATE EXTENSION pg_stat_statements, with it in shared_preload_libraries)");
        }
        if (!preloaded(s)) {
            return CheckOutcome.of(name(), Status.UNKNOWN, "pg_stat_statements " + s.pgssVersion()
                    + " is installed but not in shared_preload_libraries, so it collects nothing: add it and restart");
        }
        Threshold t = ctx.threshold("slow_statement");
        List<Row> rows = ctx.rows(STATEMENTS);
        List<Map<String, Object>> items = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("database", r.str("datname"));
            m.put("role", r.str("rolname"));
            m.put("calls", r.lng("calls"));
            m.put("mean_ms", r.num("mean_ms", 0));
            m.put("total_ms", r.num("total_ms", 0));
            m.put("rows", r.lng("rows"));
            m.put("query", r.str("query"));
            items.add(m);
        }
        double worst = rows.isEmpty() ? 0 : rows.get(0).num("mean_ms", 0) / 1000.0;
        Status status = t.status(worst);
        List<Metric> metrics = List.of(Threshold.judged("slow_statement_mean_max", worst, t, "Highest mean execution time of a statement in pg_stat_statements."));
        String hidden = s.readAllStats() ? "" : " (other roles' query texts are hidden: GRANT pg_monitor TO " + s.user() + ")";
        if (rows.isEmpty()) {
            return new CheckOutcome(name(), Status.OK, "no statement called " + ctx.settings().statementMinCalls()
                    + " or more times yet (pg_stat_statements " + s.pgssVersion() + ")", metrics, items);
        }
        Row w = rows.get(0);
        String message = (status == Status.OK ? "slowest statement averages " : "a statement averages ")
                + Unit.seconds(worst) + (status == Status.OK ? "" : " " + t.describe(status)) + " over "
                + w.lng("calls") + " calls in " + w.str("datname") + ": " + Text.query(w.str("query"), 80) + hidden;
        return new CheckOutcome(name(), status, message, metrics, items);
    }
}
