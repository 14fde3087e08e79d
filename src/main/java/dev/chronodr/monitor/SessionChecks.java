package dev.chronodr.monitor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/**
 * Checks that read pg_stat_activity: connections in use, long queries and transactions,
 * idle-in-transaction sessions and lock waits. They share one scan of the view, cluster
 * wide, and all need pg_monitor: without it other roles' sessions show no state or query,
 * and a count or a maximum over what is visible would be a false OK.
 */
final class SessionChecks {
    private SessionChecks() {
    }

    static final String ACTIVITY = "activity";

    /**
     * Durations are computed in SQL against the server's clock. When a lock wait began is
     * recorded only from 14 on (pg_locks.waitstart); before that the statement start bounds it.
     */
    static SqlQuery activity(ServerFacts s) {
        String waitStart = s.versionNum() >= 140000
                ? "coalesce((SELECT min(l.waitstart) FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted), a.state_change)"
                : "a.query_start";
        return SqlQuery.of(ACTIVITY, """
                SELECT a.pid, a.usename::text AS usename, a.datname::text AS datname, a.application_name,
                       a.client_addr::text AS client_addr, a.backend_type, a.state, a.wait_event_type, a.wait_event,
                       extract(epoch FROM now() - a.query_start)::float8 AS query_seconds,
                       extract(epoch FROM now() - a.xact_start)::float8 AS xact_seconds,
                       extract(epoch FROM now() - a.state_change)::float8 AS state_seconds,
                       CASE WHEN a.wait_event_type = 'Lock'
                            THEN extract(epoch FROM now() - WAIT_START)::float8 END AS wait_seconds,
                       CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END AS blocking_pids,
                       left(a.query, 500) AS query
                FROM pg_stat_activity a
                """.replace("WAIT_START", waitStart));
    }

    /** The common shape: a session-based check judged on the longest matching session. */
    private abstract static class SessionCheck implements HealthCheck {
        @Override
        public boolean needsMonitorRole(ServerFacts server) {
            return true;
        }

        @Override
        public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
            return List.of(activity(server));
        }

        /** Client sessions other than this monitor's own. */
        static List<Row> clients(CheckContext ctx) {
            int self = ctx.server().backendPid();
            return ctx.rows(ACTIVITY).stream()
                    .filter(r -> "client backend".equals(r.str("backend_type")) && r.lng("pid") != self)
                    .toList();
        }

        static Map<String, Object> session(Row r, String durationKey, double seconds) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("pid", r.lng("pid"));
            m.put("user", r.str("usename"));
            m.put("database", r.str("datname"));
            m.put("application", r.str("application_name"));
            m.put("client", r.str("client_addr"));
            m.put("state", r.str("state"));
            m.put(durationKey, seconds);
            m.put("query", r.str("query"));
            return m;
        }

        /** Judges the sessions matching {@code which} by the duration {@code seconds}. */
        CheckOutcome longest(CheckContext ctx, String thresholdName, Predicate<Row> which, ToDoubleFunction<Row> seconds,
                            String one, String many, String metricHelp) {
            Threshold t = ctx.threshold(thresholdName);
            List<Row> rows = clients(ctx).stream().filter(which).filter(r -> seconds.applyAsDouble(r) >= 0)
                    .sorted(Comparator.comparingDouble(seconds).reversed()).toList();
            double max = rows.isEmpty() ? 0 : seconds.applyAsDouble(rows.get(0));
            Status status = t.status(max);
            List<Map<String, Object>> items = new ArrayList<>();
            long over = 0;
            for (Row r : rows) {
                double s = seconds.applyAsDouble(r);
                if (t.status(s) != Status.OK) {
                    over++;
                    items.add(session(r, "seconds", s));
                }
            }
            List<Metric> metrics = List.of(
                    Threshold.judged(name() + "_max", max, t, metricHelp),
                    Metric.of(name() + "_over_threshold", over, Unit.COUNT, "Sessions over the " + thresholdName + " warning level."));
            String message;
            if (status == Status.OK) {
                message = rows.isEmpty() ? "no " + many
                        : Text.plural(rows.size(), one, many) + "; longest " + Unit.seconds(max);
            } else {
                Row worst = rows.get(0);
                message = Text.plural(over, one, many) + " " + t.describe(Status.WARNING)
                        + "; longest " + Unit.seconds(max) + ": pid " + worst.lng("pid") + " (" + worst.str("usename")
                        + "@" + worst.str("datname") + ") " + Text.query(worst.str("query"), 80);
            }
            return new CheckOutcome(name(), status, message, metrics, items.size() > 20 ? items.subList(0, 20) : items);
        }
    }

    static final class Connections extends SessionCheck {
        @Override
        public String name() {
            return "connections";
        }

        @Override
        public String summary() {
            return "client connections against max_connections minus the reserved slots";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(Threshold.higher("connections", Unit.PERCENT, 80d, 95d,
                    "client connections in use, of max_connections minus the reserved ones"));
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            ServerFacts s = ctx.server();
            // Every client backend holds a slot, active or idle, this monitor's own included.
            long used = ctx.rows(ACTIVITY).stream().filter(r -> "client backend".equals(r.str("backend_type"))).count();
            int usable = s.usableConnections();
            double pct = 100.0 * used / usable;
            Threshold t = ctx.threshold("connections");
            Status status = t.status(pct);
            int reserved = s.superuserReserved() + s.reserved();
            String message = used + " of " + usable + " usable connections in use (" + Unit.PERCENT.format(pct)
                    + "; max_connections " + s.maxConnections() + ", " + reserved + " reserved)";
            if (status != Status.OK) {
                message += " " + t.describe(status);
            }
            Map<String, Long> byState = new HashMap<>();
            ctx.rows(ACTIVITY).stream().filter(r -> "client backend".equals(r.str("backend_type")))
                    .forEach(r -> byState.merge(r.str("state") == null ? "unknown" : r.str("state"), 1L, Long::sum));
            List<Metric> metrics = new ArrayList<>(List.of(
                    Threshold.judged("connections_used", pct, t, "Client connections in use, of those usable (max_connections minus reserved)."),
                    Metric.of("connections_open", used, Unit.COUNT, "Client connections in use."),
                    Metric.of("connections_usable", usable, Unit.COUNT, "max_connections minus superuser_reserved_connections and reserved_connections.")));
            byState.forEach((state, n) -> metrics.add(Metric.labelled("connections_by_state", n, Unit.COUNT,
                    Map.of("state", state), "Client connections by state.")));
            return new CheckOutcome(name(), status, message, metrics, List.of());
        }
    }

    static final class LongQueries extends SessionCheck {
        @Override
        public String name() {
            return "long_queries";
        }

        @Override
        public String summary() {
            return "active queries running longer than long_query";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(Threshold.higher("long_query", Unit.SECONDS, 300d, 1800d, "how long an active query has run"));
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            return longest(ctx, "long_query", r -> "active".equals(r.str("state")), r -> r.num("query_seconds", -1),
                    "active query", "active queries", "Longest running active query.");
        }
    }

    static final class LongTransactions extends SessionCheck {
        @Override
        public String name() {
            return "long_transactions";
        }

        @Override
        public String summary() {
            return "transactions open longer than long_transaction";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(Threshold.higher("long_transaction", Unit.SECONDS, 900d, 3600d, "how long a transaction has been open"));
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            return longest(ctx, "long_transaction", r -> !r.isNull("xact_seconds"), r -> r.num("xact_seconds", -1),
                    "open transaction", "open transactions", "Oldest open transaction.");
        }
    }

    static final class IdleInTransaction extends SessionCheck {
        @Override
        public String name() {
            return "idle_in_transaction";
        }

        @Override
        public String summary() {
            return "sessions idle inside a transaction longer than idle_in_transaction";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(Threshold.higher("idle_in_transaction", Unit.SECONDS, 300d, 1800d,
                    "how long a session has sat idle inside a transaction"));
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            return longest(ctx, "idle_in_transaction",
                    r -> r.str("state") != null && r.str("state").startsWith("idle in transaction"),
                    r -> r.num("state_seconds", -1), "idle-in-transaction session", "idle-in-transaction sessions",
                    "Longest idle-in-transaction session.");
        }
    }

    /** Sessions waiting on a heavyweight lock, each with the pids blocking it and what they run. */
    static final class LockWaits extends SessionCheck {
        @Override
        public String name() {
            return "lock_waits";
        }

        @Override
        public String summary() {
            return "sessions waiting on a lock longer than lock_wait, with the blocking pid and query";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(Threshold.higher("lock_wait", Unit.SECONDS, 30d, 300d, "how long a session has waited for a lock"));
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            Threshold t = ctx.threshold("lock_wait");
            Map<Long, Row> byPid = new HashMap<>();
            ctx.rows(ACTIVITY).forEach(r -> byPid.put(r.lng("pid"), r));
            List<Row> waiting = ctx.rows(ACTIVITY).stream()
                    .filter(r -> "Lock".equals(r.str("wait_event_type")) && r.lng("pid") != ctx.server().backendPid())
                    .sorted(Comparator.comparingDouble((Row r) -> r.num("wait_seconds", 0)).reversed()).toList();
            double max = waiting.isEmpty() ? 0 : waiting.get(0).num("wait_seconds", 0);
            Status status = t.status(max);
            List<Map<String, Object>> items = new ArrayList<>();
            for (Row r : waiting.subList(0, Math.min(20, waiting.size()))) {
                Map<String, Object> m = session(r, "wait_seconds", r.num("wait_seconds", 0));
                m.put("lock", r.str("wait_event"));
                List<Map<String, Object>> blockers = new ArrayList<>();
                for (Integer pid : r.ints("blocking_pids")) {
                    Row b = byPid.get(pid.longValue());
                    Map<String, Object> bm = new LinkedHashMap<>();
                    bm.put("pid", pid);
                    if (b != null) {
                        bm.put("user", b.str("usename"));
                        bm.put("state", b.str("state"));
                        bm.put("query", b.str("query"));
                    }
                    blockers.add(bm);
                }
                m.put("blocked_by", blockers);
                items.add(m);
            }
            List<Metric> metrics = List.of(
                    Threshold.judged("lock_wait_max", max, t, "Longest current wait for a lock."),
                    Metric.of("lock_waits", waiting.size(), Unit.COUNT, "Sessions waiting for a lock."));
            if (waiting.isEmpty()) {
                return new CheckOutcome(name(), Status.OK, "no session waits for a lock", metrics, items);
            }
            Row worst = waiting.get(0);
            List<Integer> blockers = worst.ints("blocking_pids");
            StringBuilder msg = new StringBuilder(Text.plural(waiting.size(), "session waits", "sessions wait") + " for a lock");
            msg.append(status == Status.OK ? "; longest " : " " + t.describe(status) + "; longest ").append(Unit.seconds(max))
                    .append(": pid ").append(worst.lng("pid")).append(" (").append(Text.query(worst.str("query"), 60)).append(")");
            if (!blockers.isEmpty()) {
                Row b = byPid.get(blockers.get(0).longValue());
                msg.append(" blocked by pid ").append(blockers.get(0));
                if (b != null) {
                    msg.append(" (").append(b.str("state")).append(": ").append(Text.query(b.str("query"), 60)).append(")");
                }
                if (blockers.size() > 1) {
                    msg.append(" and ").append(blockers.size() - 1).append(" more");
                }
            }
            return new CheckOutcome(name(), status, msg.toString(), metrics, items);
        }
    }
}
