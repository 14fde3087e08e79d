package dev.chronodr.monitor;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.alert.Escalation;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Status;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.report.CheckOutcome;

/**
 * Runs the selected checks against one target: one connection, one round trip for the
 * server's facts, one for every check's SQL, then each check judges its rows. Then the
 * alert (if configured) and the export (if asked), both reported in the result.
 */
public final class MonitorService {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MonitorService.class);

    /** The alerts' clock: when a problem was first seen and which escalation steps are due. */
    private final java.time.Clock alertClock;

    public MonitorService() {
        this(java.time.Clock.systemUTC());
    }

    public MonitorService(java.time.Clock alertClock) {
        this.alertClock = alertClock;
    }

    public MonitorReport run(MonitorRequest req) {
        MonitorReport report = check(req);
        if (req.alert() != null) {
            report = report.withAlert(new WebhookAlert(req.alert()).deliver(report));
        }
        if (req.alerts() != null) {
            MonitorReport r = report;
            report = report.withAlerts(new Escalation(req.alerts(), alertClock).run(r.target(), r.server(),
                    r.checks().stream().map(c -> new Escalation.Observation(c.name(), c.status(), c.message())).toList()));
        }
        if (req.export() != null) {
            report = report.withExport(ReportExport.write(report, req.export()));
        }
        return report;
    }

    /** The checks alone: no alert, no export. */
    public MonitorReport check(MonitorRequest req) {
        return check(req, Connections.FRESH);
    }

    /**
     * Where a pass gets its connection: a fresh one closed after (one run), or one held
     * between passes ({@code --listen}, see {@link HeldConnection}).
     */
    interface Connections {
        Connections FRESH = new Connections() {
            @Override
            public Connection open(ConnectionSettings cs) {
                return Database.connect(cs);
            }

            @Override
            public void release(Connection c) {
                close(c);
            }
        };

        /** A connection to use for one pass; a ChronoException when the server cannot be reached. */
        Connection open(ConnectionSettings cs);

        void release(Connection c);

        /** After {@code broken} failed its first query: a new connection to try once more, or null for no retry. */
        default Connection replace(ConnectionSettings cs, Connection broken) {
            return null;
        }
    }

    MonitorReport check(MonitorRequest req, Connections connections) {
        long start = System.nanoTime();
        OffsetDateTime now = Clock.now();
        Target target = req.target();
        ConnectionSettings cs = target.connection();
        String where = cs.host() + ":" + cs.port() + "/" + cs.dbname();
        List<CheckOutcome> results = new ArrayList<>();
        ServerFacts facts = null;
        ConnectOutcome connect;
        Connection c = null;
        try {
            c = connections.open(cs);
            connect = new ConnectOutcome(true, where, (System.nanoTime() - start) / 1_000_000, null, null);
        } catch (ChronoException e) {
            connect = new ConnectOutcome(false, where, (System.nanoTime() - start) / 1_000_000, e.getMessage(), e.hint());
        }
        try {
            Map<String, List<Row>> rows = new LinkedHashMap<>();
            Map<String, String> errors = new LinkedHashMap<>();
            if (c != null) {
                try {
                    facts = ServerFacts.probe(c);
                } catch (SQLException e) {
                    String failure = e.getMessage();
                    ChronoException unreachable = null;
                    try {
                        // A held connection the server dropped (it restarted): one new connection, one more try.
                        Connection again = connections.replace(cs, c);
                        if (again != null) {
                            c = again;
                            facts = ServerFacts.probe(again);
                        }
                    } catch (SQLException retry) {
                        failure = retry.getMessage();
                    } catch (ChronoException down) {
                        unreachable = down;
                    }
                    if (unreachable != null) {
                        connect = new ConnectOutcome(false, where, connect.millis(), unreachable.getMessage(), unreachable.hint());
                    } else if (facts == null) {
                        // Connected, but the server cannot answer the simplest catalog query: as bad as down.
                        connect = new ConnectOutcome(false, where, connect.millis(), "connected to " + where
                                + ", but the server did not answer: " + failure, null);
                    }
                }
            }
            // Each runnable check's SQL, built once; queries of the same name run once and are shared.
            Map<HealthCheck, List<SqlQuery>> planned = new LinkedHashMap<>();
            if (facts != null) {
                Map<String, SqlQuery> queries = new LinkedHashMap<>();
                for (HealthCheck check : req.checks()) {
                    if (runnable(check, facts)) {
                        List<SqlQuery> qs = check.queries(facts, req.settings());
                        planned.put(check, qs);
                        qs.forEach(q -> queries.putIfAbsent(q.name(), q));
                    }
                }
                long probed = System.nanoTime();
                QueryBatch.Outcome outcome = QueryBatch.run(c, List.copyOf(queries.values()));
                log.debug("connect {} ms, server facts {} ms, {} queries for {} checks {} ms", connect.millis(),
                        (probed - start) / 1_000_000 - connect.millis(), queries.size(), planned.size(),
                        (System.nanoTime() - probed) / 1_000_000);
                rows.putAll(outcome.rows());
                errors.putAll(outcome.errors());
            }
            CheckContext ctx = new CheckContext(target, connect, facts, rows, req.settings(), now, req.runner());
            for (HealthCheck check : req.checks()) {
                results.add(evaluate(check, ctx, planned.getOrDefault(check, List.of()), errors));
            }
        } finally {
            if (c != null) {
                connections.release(c);
            }
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        // A skipped check says nothing about health: all OK and some SKIPPED is OK.
        Status overall = Status.worst(results.stream().map(CheckOutcome::status).filter(s -> s != Status.SKIPPED).toList());
        return new MonitorReport(overall, target.name(), cs.describe(),
                facts == null ? null : facts.versionString(), facts == null ? null : facts.role(), now, ms, results, null, null, null);
    }

    private static boolean runnable(HealthCheck check, ServerFacts facts) {
        return !check.needsMonitorRole(facts) || facts.readAllStats();
    }

    private static CheckOutcome evaluate(HealthCheck check, CheckContext ctx, List<SqlQuery> queries, Map<String, String> errors) {
        ServerFacts facts = ctx.server();
        if (check.needsConnection() && facts == null) {
            return CheckOutcome.of(check.name(), Status.UNKNOWN, "not run: no connection to " + ctx.connection().where());
        }
        if (facts != null && !runnable(check, facts)) {
            return CheckOutcome.of(check.name(), Status.UNKNOWN, "role " + facts.user() + " cannot see other sessions' statistics: "
                    + "GRANT pg_monitor TO " + facts.user());
        }
        for (SqlQuery q : queries) {
            String error = errors.get(q.name());
            if (error != null) {
                return CheckOutcome.of(check.name(), Status.UNKNOWN, "query failed: " + error);
            }
        }
        try {
            return check.evaluate(ctx);
        } catch (RuntimeException e) {
            return CheckOutcome.of(check.name(), Status.UNKNOWN, "check failed: " + e);
        }
    }

    static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // nothing left to do with a connection we are done with
            }
        }
    }
}
