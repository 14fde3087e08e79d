package dev.chronodr.monitor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/**
 * WAL archiving from pg_stat_archiver. Archiving that is failing now (the last failure is
 * newer than the last success) is CRITICAL: point-in-time recovery stops at the last
 * archived segment and pg_wal fills up. Failures that were followed by a success are OK
 * and counted.
 */
final class ArchivingCheck implements HealthCheck {
    static final String ARCHIVER = "archiver";

    @Override
    public String name() {
        return "archiving";
    }

    @Override
    public String summary() {
        return "WAL archiving failures (pg_stat_archiver)";
    }

    @Override
    public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
        return List.of(SqlQuery.of(ARCHIVER, """
                SELECT archived_count, failed_count, last_archived_wal, last_failed_wal,
                       extract(epoch FROM now() - last_archived_time)::float8 AS archived_seconds,
                       extract(epoch FROM now() - last_failed_time)::float8 AS failed_seconds,
                       coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) AS failing
                FROM pg_stat_archiver
                """));
    }

    @Override
    public CheckOutcome evaluate(CheckContext ctx) {
        String mode = ctx.server().archiveMode();
        if ("off".equals(mode)) {
            return CheckOutcome.of(name(), Status.SKIPPED, "archive_mode is off: WAL is not archived");
        }
        if (ctx.server().inRecovery() && !"always".equals(mode)) {
            return CheckOutcome.of(name(), Status.SKIPPED, "standby with archive_mode " + mode + ": the primary archives");
        }
        Row r = ctx.rows(ARCHIVER).get(0);
        boolean failing = r.bool("failing");
        long failed = r.lng("failed_count");
        long archived = r.lng("archived_count");
        List<Metric> metrics = List.of(
                Metric.of("archive_failing", failing ? 1 : 0, Unit.COUNT, "1 while WAL archiving is failing (last failure newer than last success)."),
                Metric.of("archive_failed", failed, Unit.COUNT, "WAL segments that failed to archive since statistics began."),
                Metric.of("archive_archived", archived, Unit.COUNT, "WAL segments archived since statistics began."),
                Metric.of("archive_last_success_age", r.num("archived_seconds", -1), Unit.SECONDS,
                        "Time since the last successful archive (-1 if none)."));
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("archived_count", archived);
        item.put("failed_count", failed);
        item.put("last_archived_wal", r.str("last_archived_wal"));
        item.put("last_archived_seconds_ago", r.isNull("archived_seconds") ? null : r.num("archived_seconds", 0));
        item.put("last_failed_wal", r.str("last_failed_wal"));
        item.put("last_failed_seconds_ago", r.isNull("failed_seconds") ? null : r.num("failed_seconds", 0));
        String lastOk = r.isNull("archived_seconds") ? "never" : Unit.seconds(r.num("archived_seconds", 0)) + " ago";
        if (failing) {
            return new CheckOutcome(name(), Status.CRITICAL, "WAL archiving is failing: " + r.str("last_failed_wal") + " failed "
                    + Unit.seconds(r.num("failed_seconds", 0)) + " ago (" + Text.plural(failed, "failure", "failures")
                    + "); last success " + lastOk + "; check archive_command and the server log", metrics, List.of(item));
        }
        String message = archived == 0 ? "archive_mode " + mode + ", no segment archived yet and none failed"
                : Text.plural(archived, "segment", "segments") + " archived, last " + r.str("last_archived_wal") + " " + lastOk
                + (failed > 0 ? "; " + Text.plural(failed, "earlier failure", "earlier failures") + ", since recovered" : "");
        return new CheckOutcome(name(), Status.OK, message, metrics, List.of(item));
    }
}
