package dev.chronodr.monitor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/**
 * Replication, seen from whichever side we are connected to. On a primary: each
 * standby's replay lag in bytes and time, and the WAL each slot holds back. On a standby:
 * its own replay lag, which is zero when everything received has been replayed, so an
 * idle primary (no new transactions, an old last-replay timestamp) does not look like lag.
 */
final class ReplicationChecks {
    private ReplicationChecks() {
    }

    private static final double MIB = 1024.0 * 1024;
    private static final double GIB = 1024 * MIB;
    static final String STANDBYS = "standbys";
    static final String RECEIVER = "receiver";
    static final String SLOTS = "slots";

    static final class Replication implements HealthCheck {
        @Override
        public String name() {
            return "replication";
        }

        @Override
        public String summary() {
            return "standby lag in bytes and time (on a primary, per standby; on a standby, its replay lag)";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(
                    Threshold.higher("replication_lag", Unit.SECONDS, 300d, 900d, "replay lag of a standby, in time"),
                    Threshold.higher("replication_lag_bytes", Unit.BYTES, 256 * MIB, GIB, "replay lag of a standby, in WAL bytes"));
        }

        /** pg_stat_replication and pg_stat_wal_receiver hide their details from roles without pg_read_all_stats. */
        @Override
        public boolean needsMonitorRole(ServerFacts server) {
            return true;
        }

        @Override
        public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
            if (server.inRecovery()) {
                // pg_current_wal_lsn() fails during recovery; a standby measures received against replayed.
                return List.of(SqlQuery.of(RECEIVER, """
                        SELECT r.status AS receiver_status, r.sender_host,
                               pg_last_wal_receive_lsn()::text AS receive_lsn, pg_last_wal_replay_lsn()::text AS replay_lsn,
                               greatest(coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0), 0)::float8 AS lag_bytes,
                               CASE WHEN pg_last_wal_receive_lsn() IS NULL
                                         OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
                                    ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
                               END::float8 AS lag_seconds,
                               pg_is_wal_replay_paused() AS replay_paused
                        FROM (SELECT 1) one
                        LEFT JOIN pg_stat_wal_receiver r ON true
                        """));
            }
            // Walsenders serving pg_basebackup show state 'backup': they are not standbys.
            return List.of(SqlQuery.of(STANDBYS, """
                    SELECT application_name, client_addr::text AS client_addr, state, sync_state,
                           coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::float8 AS lag_bytes,
                           coalesce(extract(epoch FROM replay_lag), 0)::float8 AS lag_seconds
                    FROM pg_stat_replication
                    WHERE state <> 'backup'
                    """));
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            return ctx.server().inRecovery() ? standby(ctx) : primary(ctx);
        }

        private CheckOutcome primary(CheckContext ctx) {
            Threshold tb = ctx.threshold("replication_lag_bytes");
            Threshold ts = ctx.threshold("replication_lag");
            List<Row> rows = ctx.rows(STANDBYS);
            List<Metric> metrics = new ArrayList<>();
            List<Map<String, Object>> items = new ArrayList<>();
            Status status = Status.OK;
            String worstMsg = null;
            double maxBytes = 0;
            double maxSeconds = 0;
            for (Row r : rows) {
                String name = r.str("application_name") == null || r.str("application_name").isEmpty()
                        ? String.valueOf(r.str("client_addr")) : r.str("application_name");
                double bytes = r.num("lag_bytes", 0);
                double seconds = r.num("lag_seconds", 0);
                maxBytes = Math.max(maxBytes, bytes);
                maxSeconds = Math.max(maxSeconds, seconds);
                Status s = worse(tb.status(bytes), ts.status(seconds));
                if (!"streaming".equals(r.str("state"))) {
                    s = worse(s, Status.WARNING);
                }
                Map<String, String> labels = Map.of("standby", name);
                metrics.add(Metric.labelled("standby_lag", bytes, Unit.BYTES, labels, "Replay lag of a standby in WAL bytes."));
                metrics.add(Metric.labelled("standby_lag", seconds, Unit.SECONDS, labels, "Replay lag of a standby in time."));
                Map<String, Object> item = new LinkedHashMap<>();
                item.put("standby", name);
                item.put("client", r.str("client_addr"));
                item.put("state", r.str("state"));
                item.put("sync_state", r.str("sync_state"));
                item.put("lag_bytes", (long) bytes);
                item.put("lag_seconds", seconds);
                items.add(item);
                if (worstMsg == null || s.rank() > status.rank()) {
                    worstMsg = name + " (" + r.str("state") + ") " + Unit.BYTES.format(bytes) + " / " + Unit.seconds(seconds) + " behind";
                }
                status = worse(status, s);
            }
            metrics.add(0, Threshold.judged("replication_lag_max", maxBytes, tb, "Largest standby replay lag in WAL bytes."));
            metrics.add(1, Threshold.judged("replication_lag_max", maxSeconds, ts, "Largest standby replay lag in time."));
            metrics.add(2, Metric.of("standbys", rows.size(), Unit.COUNT, "Standbys connected to this primary."));
            if (rows.isEmpty()) {
                return new CheckOutcome(name(), Status.OK, "primary with no standby connected", metrics, items);
            }
            String message = Text.plural(rows.size(), "standby", "standbys") + " connected; "
                    + (status == Status.OK ? "most behind: " : "problem: ") + worstMsg;
            return new CheckOutcome(name(), status, message, metrics, items);
        }

        private CheckOutcome standby(CheckContext ctx) {
            Threshold tb = ctx.threshold("replication_lag_bytes");
            Threshold ts = ctx.threshold("replication_lag");
            Row r = ctx.rows(RECEIVER).get(0);
            double bytes = r.num("lag_bytes", 0);
            double seconds = r.num("lag_seconds", 0);
            List<Metric> metrics = List.of(Threshold.judged("replication_lag_max", bytes, tb, "Largest standby replay lag in WAL bytes."),
                    Threshold.judged("replication_lag_max", seconds, ts, "Largest standby replay lag in time."));
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("receiver_status", r.str("receiver_status"));
            item.put("sender_host", r.str("sender_host"));
            item.put("receive_lsn", r.str("receive_lsn"));
            item.put("replay_lsn", r.str("replay_lsn"));
            item.put("lag_bytes", (long) bytes);
            item.put("lag_seconds", seconds);
            item.put("replay_paused", r.bool("replay_paused"));
            Status status = worse(tb.status(bytes), ts.status(seconds));
            List<String> problems = new ArrayList<>();
            if (!"streaming".equals(r.str("receiver_status"))) {
                status = worse(status, Status.WARNING);
                problems.add(r.str("receiver_status") == null ? "no WAL receiver: not streaming from a primary"
                        : "WAL receiver is " + r.str("receiver_status"));
            }
            if (r.bool("replay_paused")) {
                status = worse(status, Status.WARNING);
                problems.add("replay is paused");
            }
            String lag = seconds == 0 && bytes == 0 ? "replayed everything received"
                    : "replay " + Unit.BYTES.format(bytes) + " / " + Unit.seconds(seconds) + " behind what was received";
            String message = "standby"
                    + (r.str("sender_host") == null ? "" : " of " + r.str("sender_host")) + ": " + lag
                    + (problems.isEmpty() ? "" : "; " + String.join("; ", problems));
            return new CheckOutcome(name(), status, message, metrics, List.of(item));
        }
    }

    static final class ReplicationSlots implements HealthCheck {
        @Override
        public String name() {
            return "replication_slots";
        }

        @Override
        public String summary() {
            return "WAL retained by each replication slot, and slots that lost or may lose WAL";
        }

        @Override
        public List<Threshold> thresholds() {
            return List.of(Threshold.higher("slot_retained_wal", Unit.BYTES, GIB, 10 * GIB, "WAL a replication slot keeps on the primary"));
        }

        @Override
        public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
            String current = server.inRecovery() ? "pg_last_wal_replay_lsn()" : "pg_current_wal_lsn()";
            String walStatus = server.versionNum() >= 130000 ? "wal_status" : "NULL::text";
            return List.of(SqlQuery.of(SLOTS, """
                    SELECT slot_name::text AS slot_name, slot_type, active, WAL_STATUS AS wal_status,
                           coalesce(pg_wal_lsn_diff(CURRENT_LSN, restart_lsn), 0)::float8 AS retained_bytes
                    FROM pg_replication_slots
                    """.replace("WAL_STATUS", walStatus).replace("CURRENT_LSN", current)));
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            Threshold t = ctx.threshold("slot_retained_wal");
            List<Row> rows = ctx.rows(SLOTS);
            List<Metric> metrics = new ArrayList<>();
            List<Map<String, Object>> items = new ArrayList<>();
            Status status = Status.OK;
            String worstMsg = null;
            double max = 0;
            for (Row r : rows) {
                double bytes = r.num("retained_bytes", 0);
                max = Math.max(max, bytes);
                Status s = t.status(bytes);
                String walStatus = r.str("wal_status");
                // 13+: 'unreserved' will lose WAL at the next checkpoint, 'lost' already has.
                if ("lost".equals(walStatus)) {
                    s = Status.CRITICAL;
                } else if ("unreserved".equals(walStatus)) {
                    s = worse(s, Status.WARNING);
                }
                metrics.add(Metric.labelled("slot_retained_wal", bytes, Unit.BYTES, Map.of("slot", r.str("slot_name")),
                        "WAL kept on this server for a replication slot."));
                Map<String, Object> item = new LinkedHashMap<>();
                item.put("slot", r.str("slot_name"));
                item.put("type", r.str("slot_type"));
                item.put("active", r.bool("active"));
                item.put("wal_status", walStatus);
                item.put("retained_bytes", (long) bytes);
                items.add(item);
                if (worstMsg == null || s.rank() > status.rank() || (s == status && bytes >= max)) {
                    worstMsg = "slot " + r.str("slot_name") + " (" + r.str("slot_type") + ", " + (r.bool("active") ? "active" : "inactive")
                            + (walStatus == null ? "" : ", wal_status " + walStatus) + ") retains " + Unit.BYTES.format(bytes) + " of WAL"
                            + (t.status(bytes) == Status.OK ? "" : " " + t.describe(t.status(bytes)));
                }
                status = worse(status, s);
            }
            metrics.add(0, Threshold.judged("slot_retained_wal_max", max, t, "Most WAL kept for any replication slot."));
            if (rows.isEmpty()) {
                return new CheckOutcome(name(), Status.OK, "no replication slots", metrics, items);
            }
            return new CheckOutcome(name(), status, Text.plural(rows.size(), "slot", "slots") + "; " + worstMsg, metrics, items);
        }
    }

    static Status worse(Status a, Status b) {
        return a.rank() >= b.rank() ? a : b;
    }
}
