package dev.chronodr.monitor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Status;
import dev.chronodr.pgbouncer.AdminConsole;
import dev.chronodr.pgbouncer.PgBouncerSection;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/**
 * PgBouncer in front of the database, through its admin console (SHOW POOLS, SHOW DATABASES,
 * SHOW STATS): clients waiting for a server connection, the longest wait, and how full each pool
 * is. Runs only where the target's {@code pgbouncer:} section names an admin_user. Unreachable
 * is CRITICAL, as a database that is down: the applications cannot reach the database either.
 */
final class PgBouncerCheck implements HealthCheck {
    @Override
    public String name() {
        return "pgbouncer";
    }

    @Override
    public String summary() {
        return "PgBouncer's pools: clients waiting, the longest wait, pool saturation (admin console)";
    }

    @Override
    public List<Threshold> thresholds() {
        return List.of(
                Threshold.higher("pgbouncer_waiting", Unit.COUNT, 1d, 20d, "clients waiting for a server connection, all pools"),
                Threshold.higher("pgbouncer_maxwait", Unit.SECONDS, 1d, 10d, "how long the oldest waiting client has waited"),
                Threshold.higher("pgbouncer_saturation", Unit.PERCENT, 90d, null, "server connections in use, percent of the pool size"));
    }

    @Override
    public boolean needsConnection() {
        return false;
    }

    @Override
    public CheckOutcome evaluate(CheckContext ctx) {
        PgBouncerSection s = PgBouncerSection.of(ctx.target());
        if (s == null || !s.hasAdmin()) {
            return CheckOutcome.of(name(), Status.SKIPPED, "no pgbouncer section with an admin_user in the target's config");
        }
        List<Map<String, String>> pools;
        List<Map<String, String>> databases;
        List<Map<String, String>> stats;
        AdminConsole console;
        try {
            console = AdminConsole.of(ctx.target(), s, new Environment(ctx.runner().baseEnv(), Path.of("").toAbsolutePath()), ctx.runner());
            pools = console.show("POOLS");
            databases = console.show("DATABASES");
            stats = console.show("STATS");
        } catch (AdminConsole.ConsoleException e) {
            return CheckOutcome.of(name(), e.unreachable() ? Status.CRITICAL : Status.UNKNOWN, e.getMessage());
        } catch (ChronoException e) {
            return CheckOutcome.of(name(), Status.UNKNOWN, e.getMessage());
        }
        Map<String, Double> poolSize = new LinkedHashMap<>();
        List<String> paused = new ArrayList<>();
        for (Map<String, String> d : databases) {
            poolSize.put(d.get("name"), number(d.get("pool_size")));
            if ("1".equals(d.get("paused"))) {
                paused.add(d.get("name"));
            }
        }
        Threshold tw = ctx.threshold("pgbouncer_waiting");
        Threshold tm = ctx.threshold("pgbouncer_maxwait");
        Threshold ts = ctx.threshold("pgbouncer_saturation");
        List<Metric> metrics = new ArrayList<>();
        List<Map<String, Object>> items = new ArrayList<>();
        double waiting = 0;
        double maxWait = 0;
        double saturation = 0;
        String worstPool = null;
        for (Map<String, String> p : pools) {
            String db = p.get("database");
            if ("pgbouncer".equals(db)) {
                continue; // the admin console itself
            }
            double clWaiting = number(p.get("cl_waiting"));
            double wait = number(p.get("maxwait")) + number(p.get("maxwait_us")) / 1_000_000.0;
            double active = number(p.get("sv_active"));
            double size = poolSize.getOrDefault(db, 0d);
            double pct = size > 0 ? 100.0 * active / size : 0;
            waiting += clWaiting;
            if (wait > maxWait) {
                maxWait = wait;
            }
            if (pct >= saturation) {
                saturation = pct;
                worstPool = db + "/" + p.get("user");
            }
            Map<String, String> labels = Map.of("database", db, "user", p.get("user"));
            metrics.add(Metric.labelled("pgbouncer_pool_waiting", clWaiting, Unit.COUNT, labels, "Clients waiting in this pool."));
            metrics.add(Metric.labelled("pgbouncer_pool_maxwait", wait, Unit.SECONDS, labels, "Longest wait in this pool."));
            metrics.add(Metric.labelled("pgbouncer_pool_saturation", pct, Unit.PERCENT, labels, "Server connections in use, percent of pool_size."));
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("database", db);
            item.put("user", p.get("user"));
            item.put("pool_mode", p.get("pool_mode"));
            item.put("cl_active", (long) number(p.get("cl_active")));
            item.put("cl_waiting", (long) clWaiting);
            item.put("sv_active", (long) active);
            item.put("sv_idle", (long) number(p.get("sv_idle")));
            item.put("pool_size", (long) size);
            item.put("maxwait_seconds", wait);
            item.put("saturation_percent", pct);
            items.add(item);
        }
        for (Map<String, String> st : stats) {
            String db = st.get("database");
            if (db != null && !"pgbouncer".equals(db) && st.containsKey("avg_wait_time")) {
                metrics.add(Metric.labelled("pgbouncer_avg_wait", number(st.get("avg_wait_time")) / 1_000_000.0, Unit.SECONDS,
                        Map.of("database", db), "Average time clients waited for a server, from SHOW STATS."));
            }
        }
        metrics.add(Threshold.judged("pgbouncer_waiting", waiting, tw, "Clients waiting for a server connection, all pools."));
        metrics.add(Threshold.judged("pgbouncer_maxwait", maxWait, tm, "Seconds the oldest waiting client has waited."));
        metrics.add(Threshold.judged("pgbouncer_saturation", saturation, ts, "Fullest pool: server connections in use, percent of pool_size."));

        Status status = ReplicationChecks.worse(tw.status(waiting), ReplicationChecks.worse(tm.status(maxWait), ts.status(saturation)));
        List<String> problems = new ArrayList<>();
        if (tw.status(waiting) != Status.OK || tm.status(maxWait) != Status.OK) {
            problems.add(Unit.COUNT.format(waiting) + " client(s) waiting for a server connection, the oldest for "
                    + Unit.seconds(maxWait) + ": the pool is too small or transactions are held open");
        }
        if (ts.status(saturation) != Status.OK) {
            problems.add("pool " + worstPool + " is " + Unit.PERCENT.format(Math.round(saturation)) + " full " + ts.describe(ts.status(saturation)));
        }
        if (!paused.isEmpty()) {
            status = ReplicationChecks.worse(status, Status.WARNING);
            problems.add("paused: " + String.join(", ", paused) + " (clients are held; RESUME it on the admin console)");
        }
        String message = problems.isEmpty()
                ? "PgBouncer at " + console.where() + ": " + items.size() + " pool(s), no client waiting, fullest "
                        + Unit.PERCENT.format(Math.round(saturation))
                : "PgBouncer at " + console.where() + ": " + String.join("; ", problems);
        return new CheckOutcome(name(), status, message, metrics, items);
    }

    private static double number(String s) {
        if (s == null || s.isBlank()) {
            return 0;
        }
        try {
            return Double.parseDouble(s.strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
