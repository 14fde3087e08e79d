package dev.chronodr.monitor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/** Checks on the database as a whole: cache hit ratio, size, and wraparound age. */
final class DatabaseHealthChecks {
    private DatabaseHealthChecks() {
    }

    static final String DATABASE = "database";
    static final String DATABASES = "databases";
    /** Transaction and multixact IDs wrap at 2^31; ages are judged as a share of that. */
    static final double WRAP_LIMIT = 2147483648d;

    static SqlQuery database() {
        return SqlQuery.of(DATABASE, """
                SELECT d.datname::text AS datname, d.blks_hit, d.blks_read, pg_database_size(d.datid) AS size_bytes
                FROM pg_stat_database d
                WHERE d.datname = current_database()
                """);
    }

    static final class CacheHit implements HealthCheck {
        @Override
        public String name() {
            return "cache_hit";
        }

        @Override
        public String summary() {
            return "share of block reads served from shared buffers in this database";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(Threshold.lower("cache_hit", Unit.PERCENT, 95d, 90d, "block reads served from shared buffers"));
        }

        @Override
        public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
            return List.of(database());
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            Row r = ctx.rows(DATABASE).get(0);
            long hit = r.lng("blks_hit");
            long read = r.lng("blks_read");
            long total = hit + read;
            Threshold t = ctx.threshold("cache_hit");
            double pct = total == 0 ? 100 : 100.0 * hit / total;
            List<Metric> metrics = List.of(Threshold.judged("cache_hit", pct, t, "Block reads served from shared buffers."),
                    Metric.of("blocks_read", read, Unit.COUNT, "Blocks read from disk (or the OS cache) since statistics began."),
                    Metric.of("blocks_hit", hit, Unit.COUNT, "Blocks found in shared buffers since statistics began."));
            // A freshly started or reset server has read little; its ratio says nothing yet.
            if (total < ctx.settings().cacheHitMinBlocks()) {
                return new CheckOutcome(name(), Status.OK, Unit.PERCENT.format(pct) + " cache hits, but only " + total
                        + " block reads so far (judged from " + ctx.settings().cacheHitMinBlocks() + ")", metrics, List.of());
            }
            Status status = t.status(pct);
            String message = Unit.PERCENT.format(pct) + " of " + total + " block reads in " + r.str("datname")
                    + " served from shared buffers" + (status == Status.OK ? "" : " (" + t.describe(status) + ")");
            return new CheckOutcome(name(), status, message, metrics, List.of());
        }
    }

    static final class DatabaseSize implements HealthCheck {
        @Override
        public String name() {
            return "database_size";
        }

        @Override
        public String summary() {
            return "size of this database (no levels unless configured)";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(Threshold.higher("database_size", Unit.BYTES, null, null, "size of the database"));
        }

        @Override
        public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
            return List.of(database());
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            Row r = ctx.rows(DATABASE).get(0);
            long size = r.lng("size_bytes");
            Threshold t = ctx.threshold("database_size");
            Status status = t.status(size);
            String message = r.str("datname") + " is " + Unit.BYTES.format(size) + (status == Status.OK ? "" : " (" + t.describe(status) + ")");
            return new CheckOutcome(name(), status, message,
                    List.of(Threshold.judged("database_size", size, t, "Size of the database on disk.")), List.of());
        }
    }

    /**
     * Transaction-ID and multixact ages of every database (the cluster shares one counter):
     * autovacuum must freeze before they reach 2^31, or the server stops taking writes.
     */
    static final class Wraparound implements HealthCheck {
        @Override
        public String name() {
            return "wraparound";
        }

        @Override
        public String summary() {
            return "transaction-ID and multixact age of the oldest database, against the 2^31 limit";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(
                    Threshold.higher("xid_wraparound", Unit.PERCENT, 50d, 75d,
                            "oldest transaction ID age, as a share of the 2^31 wraparound limit"),
                    Threshold.higher("multixact_wraparound", Unit.PERCENT, 50d, 75d,
                            "oldest multixact ID age, as a share of the 2^31 wraparound limit"));
        }

        @Override
        public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
            return List.of(SqlQuery.of(DATABASES, """
                    SELECT datname::text AS datname, age(datfrozenxid)::bigint AS xid_age, mxid_age(datminmxid)::bigint AS mxid_age
                    FROM pg_database
                    """));
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            Threshold xt = ctx.threshold("xid_wraparound");
            Threshold mt = ctx.threshold("multixact_wraparound");
            Row xid = null;
            Row mxid = null;
            List<Metric> metrics = new ArrayList<>();
            for (Row r : ctx.rows(DATABASES)) {
                if (xid == null || r.lng("xid_age") > xid.lng("xid_age")) {
                    xid = r;
                }
                if (mxid == null || r.lng("mxid_age") > mxid.lng("mxid_age")) {
                    mxid = r;
                }
                Map<String, String> labels = Map.of("database", r.str("datname"));
                metrics.add(Metric.labelled("xid_age", r.lng("xid_age"), Unit.COUNT, labels, "Age of the database's frozen transaction ID."));
                metrics.add(Metric.labelled("multixact_age", r.lng("mxid_age"), Unit.COUNT, labels, "Age of the database's oldest multixact ID."));
            }
            if (xid == null) {
                return CheckOutcome.of(name(), Status.UNKNOWN, "pg_database returned no rows");
            }
            double xpct = 100 * xid.lng("xid_age") / WRAP_LIMIT;
            double mpct = 100 * mxid.lng("mxid_age") / WRAP_LIMIT;
            Status xs = xt.status(xpct);
            Status ms = mt.status(mpct);
            Status status = xs.rank() >= ms.rank() ? xs : ms;
            metrics.add(0, Threshold.judged("xid_wraparound", xpct, xt, "Oldest transaction ID age as a share of the 2^31 wraparound limit."));
            metrics.add(1, Threshold.judged("multixact_wraparound", mpct, mt, "Oldest multixact ID age as a share of the 2^31 wraparound limit."));
            String message = "oldest xid age " + xid.lng("xid_age") + " (" + Unit.PERCENT.format(xpct) + " of wraparound, "
                    + xid.str("datname") + ")" + (xs == Status.OK ? "" : " " + xt.describe(xs))
                    + "; multixact age " + mxid.lng("mxid_age") + " (" + Unit.PERCENT.format(mpct) + ", " + mxid.str("datname") + ")"
                    + (ms == Status.OK ? "" : " " + mt.describe(ms));
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("xid_age", xid.lng("xid_age"));
            item.put("xid_database", xid.str("datname"));
            item.put("multixact_age", mxid.lng("mxid_age"));
            item.put("multixact_database", mxid.str("datname"));
            return new CheckOutcome(name(), status, message, metrics, List.of(item));
        }
    }
}
