package dev.chronodr.monitor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/**
 * Checkpoints forced by WAL volume rather than by checkpoint_timeout. Many requested
 * checkpoints mean max_wal_size is too small for the write load: every checkpoint writes
 * all dirty buffers and the full-page images after it swell the WAL, which is what backups,
 * replicas and the archive must carry. PostgreSQL 17 moved these counters from
 * pg_stat_bgwriter (checkpoints_timed, checkpoints_req) to pg_stat_checkpointer (num_timed,
 * num_requested); both are read.
 */
final class CheckpointsCheck implements HealthCheck {
    static final String CHECKPOINTS = "checkpoints";
    /** Fewer checkpoints than this since the statistics began say nothing yet. */
    static final long MIN_CHECKPOINTS = 10;

    @Override
    public String name() {
        return "checkpoints";
    }

    @Override
    public String summary() {
        return "checkpoints forced by WAL volume instead of checkpoint_timeout (max_wal_size too small)";
    }

    @Override
    public List<Threshold> thresholds() {
        return List.of(Threshold.higher("requested_checkpoints", Unit.PERCENT, 30d, 60d,
                "share of checkpoints requested (WAL volume, CHECKPOINT) rather than timed"));
    }

    @Override
    public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
        String view = server.versionNum() >= 170000
                ? "SELECT num_timed AS timed, num_requested AS requested, 'pg_stat_checkpointer' AS source,"
                + " extract(epoch FROM now() - stats_reset)::float8 AS since FROM pg_stat_checkpointer"
                : "SELECT checkpoints_timed AS timed, checkpoints_req AS requested, 'pg_stat_bgwriter' AS source,"
                + " extract(epoch FROM now() - stats_reset)::float8 AS since FROM pg_stat_bgwriter";
        return List.of(SqlQuery.of(CHECKPOINTS, "SELECT c.*, current_setting('max_wal_size') AS max_wal_size,"
                + " current_setting('checkpoint_timeout') AS checkpoint_timeout FROM (" + view + ") c"));
    }

    @Override
    public CheckOutcome evaluate(CheckContext ctx) {
        Row r = ctx.rows(CHECKPOINTS).get(0);
        long timed = r.lng("timed");
        long requested = r.lng("requested");
        long total = timed + requested;
        double pct = total == 0 ? 0 : 100.0 * requested / total;
        Threshold t = ctx.threshold("requested_checkpoints");
        List<Metric> metrics = List.of(
                Threshold.judged("requested_checkpoints", pct, t, "Share of checkpoints requested rather than timed."),
                Metric.of("checkpoints_timed", timed, Unit.COUNT, "Checkpoints started by checkpoint_timeout since statistics began."),
                Metric.of("checkpoints_requested", requested, Unit.COUNT,
                        "Checkpoints requested (WAL volume, CHECKPOINT, backups) since statistics began."));
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("source", r.str("source"));
        item.put("timed", timed);
        item.put("requested", requested);
        item.put("max_wal_size", r.str("max_wal_size"));
        item.put("checkpoint_timeout", r.str("checkpoint_timeout"));
        item.put("stats_age_seconds", r.isNull("since") ? null : r.num("since", 0));
        String counts = requested + " of " + total + " checkpoints requested, " + timed + " timed (" + r.str("source") + ")";
        if (total < MIN_CHECKPOINTS) {
            return new CheckOutcome(name(), Status.OK, counts + "; judged from " + MIN_CHECKPOINTS + " checkpoints", metrics,
                    List.of(item));
        }
        Status status = t.status(pct);
        String message = Unit.PERCENT.format(pct) + " of checkpoints requested: " + counts
                + (status == Status.OK ? "" : " (" + t.describe(status) + "); raise max_wal_size (now "
                + r.str("max_wal_size") + ") so checkpoints come from checkpoint_timeout ("
                + r.str("checkpoint_timeout") + ")");
        return new CheckOutcome(name(), status, message, metrics, List.of(item));
    }
}
