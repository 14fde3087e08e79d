package dev.chronodr.monitor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/**
 * Checks on the current database's tables from pg_stat_user_tables: dead-tuple share,
 * and time since the last vacuum and analyze. Small tables (fewer than table_min_rows
 * tuples) are left out: a handful of dead rows in a lookup table is noise.
 */
final class TableChecks {
    private TableChecks() {
    }

    static final String TABLES = "tables";
    private static final double DAY = 86400;
    /** At most this many tables are named in results and labelled metrics, worst first. */
    static final int LISTED = 20;

    /**
     * A table never vacuumed (or analyzed) since statistics began has no timestamp; the
     * time since the statistics began (their reset, else server start) is how long we know
     * it has gone without, so that is its age.
     */
    static SqlQuery tables(MonitorSettings settings) {
        return SqlQuery.of(TABLES, """
                SELECT t.schemaname::text AS schemaname, t.relname::text AS relname, t.n_live_tup, t.n_dead_tup,
                       extract(epoch FROM now() - greatest(t.last_vacuum, t.last_autovacuum))::float8 AS vacuum_seconds,
                       extract(epoch FROM now() - greatest(t.last_analyze, t.last_autoanalyze))::float8 AS analyze_seconds,
                       extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time()))::float8 AS observed_seconds
                FROM pg_stat_user_tables t
                LEFT JOIN pg_stat_database d ON d.datname = current_database()
                WHERE t.n_live_tup + t.n_dead_tup >= ?
                """, settings.tableMinRows());
    }

    private abstract static class TableCheck implements HealthCheck {
        @Override
        public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
            return List.of(tables(settings));
        }

        static String table(Row r) {
            return r.str("schemaname") + "." + r.str("relname");
        }

        static Map<String, String> labels(Row r) {
            return Map.of("schema", r.str("schemaname"), "table", r.str("relname"));
        }
    }

    static final class DeadTuples extends TableCheck {
        @Override
        public String name() {
            return "dead_tuples";
        }

        @Override
        public String summary() {
            return "dead tuples as a share of each table's tuples";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(Threshold.higher("dead_tuples", Unit.PERCENT, 30d, 50d, "dead tuples as a share of a table's tuples"));
        }

        static double share(Row r) {
            long dead = r.lng("n_dead_tup");
            long total = dead + r.lng("n_live_tup");
            return total == 0 ? 0 : 100.0 * dead / total;
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            Threshold t = ctx.threshold("dead_tuples");
            List<Row> rows = ctx.rows(TABLES).stream().sorted(Comparator.comparingDouble(DeadTuples::share).reversed()).toList();
            double max = rows.isEmpty() ? 0 : share(rows.get(0));
            Status status = t.status(max);
            List<Map<String, Object>> items = new ArrayList<>();
            List<Metric> metrics = new ArrayList<>();
            metrics.add(Threshold.judged("dead_tuples_max", max, t, "Highest dead-tuple share of any table."));
            long over = rows.stream().filter(r -> t.status(share(r)) != Status.OK).count();
            metrics.add(Metric.of("dead_tuples_tables_over_threshold", over, Unit.COUNT, "Tables over the dead_tuples warning level."));
            for (Row r : rows.subList(0, Math.min(LISTED, rows.size()))) {
                metrics.add(Metric.labelled("dead_tuples", share(r), Unit.PERCENT, labels(r), "Dead tuples as a share of a table's tuples."));
                if (t.status(share(r)) != Status.OK) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("table", table(r));
                    m.put("dead_tuples", r.lng("n_dead_tup"));
                    m.put("live_tuples", r.lng("n_live_tup"));
                    m.put("dead_percent", Math.round(share(r) * 10) / 10.0);
                    items.add(m);
                }
            }
            String message;
            if (rows.isEmpty()) {
                message = "no table has " + ctx.settings().tableMinRows() + " or more tuples";
            } else {
                Row w = rows.get(0);
                message = (status == Status.OK ? "highest dead-tuple share " : Text.plural(over, "table", "tables") + " "
                        + t.describe(Status.WARNING) + " dead tuples; worst ") + table(w) + " " + Unit.PERCENT.format(max)
                        + " (" + w.lng("n_dead_tup") + " dead, " + w.lng("n_live_tup") + " live)";
            }
            return new CheckOutcome(name(), status, message, metrics, items);
        }
    }

    /** Shared by last_vacuum and last_analyze: the age of the most neglected table. */
    private abstract static class MaintenanceAge extends TableCheck {
        abstract String column();

        abstract String verb();

        double age(Row r) {
            return r.isNull(column()) ? r.num("observed_seconds", 0) : r.num(column(), 0);
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            Threshold t = ctx.threshold(name());
            ToDoubleFunction<Row> age = this::age;
            List<Row> rows = ctx.rows(TABLES).stream().sorted(Comparator.comparingDouble(age).reversed()).toList();
            double max = rows.isEmpty() ? 0 : age(rows.get(0));
            Status status = t.status(max);
            long over = rows.stream().filter(r -> t.status(age(r)) != Status.OK).count();
            List<Metric> metrics = new ArrayList<>();
            metrics.add(Threshold.judged(name() + "_max_age", max, t, "Longest time any table has gone without being " + verb() + "."));
            List<Map<String, Object>> items = new ArrayList<>();
            for (Row r : rows.subList(0, Math.min(LISTED, rows.size()))) {
                metrics.add(Metric.labelled(name() + "_age", age(r), Unit.SECONDS, labels(r), "Time since a table was last " + verb() + "."));
                if (t.status(age(r)) != Status.OK) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("table", table(r));
                    m.put("seconds", age(r));
                    m.put("never", r.isNull(column()));
                    items.add(m);
                }
            }
            if (rows.isEmpty()) {
                return new CheckOutcome(name(), Status.OK, "no table has " + ctx.settings().tableMinRows() + " or more tuples", metrics, items);
            }
            Row w = rows.get(0);
            String worst = table(w) + (w.isNull(column())
                    ? " not " + verb() + " since statistics began " + Unit.seconds(max) + " ago"
                    : " last " + verb() + " " + Unit.seconds(max) + " ago");
            String message = status == Status.OK ? "oldest: " + worst
                    : Text.plural(over, "table", "tables") + " " + t.describe(Status.WARNING) + " without being " + verb()
                    + "; worst " + worst;
            return new CheckOutcome(name(), status, message, metrics, items);
        }
    }

    static final class LastVacuum extends MaintenanceAge {
        @Override
        public String name() {
            return "last_vacuum";
        }

        @Override
        public String summary() {
            return "tables not vacuumed (manually or by autovacuum) for longer than last_vacuum";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(Threshold.higher("last_vacuum", Unit.SECONDS, 7 * DAY, 30 * DAY, "time since a table was last vacuumed"));
        }

        @Override
        String column() {
            return "vacuum_seconds";
        }

        @Override
        String verb() {
            return "vacuumed";
        }
    }

    static final class LastAnalyze extends MaintenanceAge {
        @Override
        public String name() {
            return "last_analyze";
        }

        @Override
        public String summary() {
            return "tables not analyzed (manually or by autovacuum) for longer than last_analyze";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(Threshold.higher("last_analyze", Unit.SECONDS, 7 * DAY, 30 * DAY, "time since a table was last analyzed"));
        }

        @Override
        String column() {
            return "analyze_seconds";
        }

        @Override
        String verb() {
            return "analyzed";
        }
    }
}
