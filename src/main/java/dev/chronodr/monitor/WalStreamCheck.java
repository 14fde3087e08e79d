package dev.chronodr.monitor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.chronodr.core.Status;
import dev.chronodr.pg.Lsn;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;
import dev.chronodr.repo.RepoLocation;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;

/**
 * wal-receive's stream, from the server's side and the repository's. Its slot inactive
 * is CRITICAL: nothing receives, and the slot holds the server's WAL until the disk
 * fills (or until max_slot_wal_keep_size, when the WAL is lost to the archive). The WAL
 * the slot retains is judged against max_slot_wal_keep_size (unlimited is a WARNING).
 * The lag is the server's current LSN against the end of the newest archived WAL, the
 * stored partial segment included (read to its last written byte), in bytes and in
 * seconds since that file was stored (zero when caught up, within one WAL page).
 */
final class WalStreamCheck implements HealthCheck {
    static final String SLOT = "wal_stream_slot";
    /** wal-receive's default slot (chrono-dr wal-receive --slot). */
    static final String SLOT_NAME = "chrono_dr";
    private static final long PAGE = 8192;
    private static final double MIB = 1024.0 * 1024;

    @Override
    public String name() {
        return "wal_stream";
    }

    @Override
    public String summary() {
        return "wal-receive's slot (active, WAL retained) and its lag behind the server, against the RPO";
    }

    @Override
    public List<Threshold> thresholds() {
        return List.of(
                Threshold.higher("wal_stream_lag", Unit.SECONDS, 30d, 15 * 60d, "time the archive is behind the server (the RPO)"),
                Threshold.higher("wal_stream_lag_bytes", Unit.BYTES, 16 * MIB, 256 * MIB, "WAL written on the server and not archived yet"),
                Threshold.higher("wal_stream_retained", Unit.PERCENT, 50d, 80d, "WAL the slot retains, of max_slot_wal_keep_size"));
    }

    @Override
    public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
        if (server.inRecovery()) {
            return List.of();
        }
        boolean pg13 = server.versionNum() >= 130000;
        return List.of(SqlQuery.of(SLOT, """
                SELECT active, WAL_STATUS AS wal_status, pg_current_wal_lsn()::text AS current_lsn,
                       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::float8 AS retained_bytes,
                       KEEP AS keep_mb,
                       (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size') AS segment_size,
                       (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline
                FROM pg_replication_slots WHERE slot_name = ? AND slot_type = 'physical'
                """.replace("WAL_STATUS", pg13 ? "wal_status" : "NULL::text")
                .replace("KEEP", pg13 ? "(SELECT setting::bigint FROM pg_settings WHERE name = 'max_slot_wal_keep_size')" : "-1::bigint"),
                SLOT_NAME));
    }

    @Override
    public CheckOutcome evaluate(CheckContext ctx) {
        if (ctx.server().inRecovery()) {
            return CheckOutcome.of(name(), Status.SKIPPED, "standby: wal-receive streams from the primary");
        }
        List<Row> rows = ctx.rows(SLOT);
        if (rows.isEmpty()) {
            return CheckOutcome.of(name(), Status.SKIPPED, "no replication slot " + SLOT_NAME + ": wal-receive is not set up here");
        }
        Row r = rows.get(0);
        boolean active = r.bool("active");
        double retained = r.num("retained_bytes", 0);
        long keepMb = r.lng("keep_mb");
        int segSize = (int) r.lng("segment_size");
        Lsn current = Lsn.parse(r.str("current_lsn"));
        String walStatus = r.str("wal_status");

        List<Metric> metrics = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        Status status = Status.OK;
        metrics.add(Metric.of("wal_stream_active", active ? 1 : 0, Unit.COUNT, "1 while wal-receive's slot is in use."));
        metrics.add(Metric.of("wal_stream_slot_retained", retained, Unit.BYTES, "WAL the server keeps for wal-receive's slot."));
        if (!active) {
            status = Status.CRITICAL;
            problems.add("slot " + SLOT_NAME + " is inactive: wal-receive is not running, and the slot holds the server's WAL ("
                    + Unit.BYTES.format(retained) + " now) until it is read or dropped");
        }
        if ("lost".equals(walStatus)) {
            status = Status.CRITICAL;
            problems.add("slot " + SLOT_NAME + " has lost WAL (wal_status lost): the archive has a gap; take a new base backup");
        }
        if (keepMb < 0) {
            status = ReplicationChecks.worse(status, Status.WARNING);
            problems.add("max_slot_wal_keep_size is unlimited: a dead receiver can fill the server's disk (chrono-dr pitr setup --streaming)");
        } else {
            Threshold t = ctx.threshold("wal_stream_retained");
            double pct = keepMb == 0 ? 0 : 100.0 * retained / (keepMb * MIB);
            metrics.add(Threshold.judged("wal_stream_retained", pct, t, "WAL the slot retains, percent of max_slot_wal_keep_size."));
            Status s = t.status(pct);
            if (s != Status.OK) {
                status = ReplicationChecks.worse(status, s);
                problems.add("the slot retains " + Unit.BYTES.format(retained) + ", " + Math.round(pct) + "% of max_slot_wal_keep_size "
                        + t.describe(s) + ": past it the server drops the WAL and the archive gets a gap");
            }
        }

        Map<String, Object> item = new LinkedHashMap<>();
        item.put("slot", SLOT_NAME);
        item.put("active", active);
        item.put("wal_status", walStatus);
        item.put("retained_bytes", (long) retained);
        item.put("max_slot_wal_keep_size_bytes", keepMb < 0 ? null : keepMb * (long) MIB);
        item.put("current_lsn", current.toString());
        String lagText;
        Optional<Archived> newest = newestArchived(ctx.target().repo(), (int) r.lng("timeline"), segSize);
        if (newest.isEmpty()) {
            status = ReplicationChecks.worse(status, Status.WARNING);
            lagText = "nothing archived on this timeline yet";
            problems.add("no WAL of the server's timeline in the archive " + ctx.target().repo());
        } else {
            Archived a = newest.get();
            double lagBytes = Math.max(0, current.value() - a.end().value());
            double lagSeconds = lagBytes <= PAGE ? 0 : Math.max(0, Duration.between(a.storedAt(), ctx.now().toInstant()).toMillis() / 1000.0);
            Threshold tb = ctx.threshold("wal_stream_lag_bytes");
            Threshold ts = ctx.threshold("wal_stream_lag");
            metrics.add(Threshold.judged("wal_stream_lag_bytes", lagBytes, tb, "WAL written on the server and not yet in the archive."));
            metrics.add(Threshold.judged("wal_stream_lag", lagSeconds, ts, "Seconds the archive is behind the server."));
            item.put("archived_to", a.name() + " (" + a.end() + ")");
            item.put("lag_bytes", (long) lagBytes);
            item.put("lag_seconds", lagSeconds);
            lagText = "lag " + Unit.BYTES.format(lagBytes) + ", " + Unit.seconds(lagSeconds) + " (archived to " + a.end() + ", server at " + current + ")";
            Status s = ReplicationChecks.worse(tb.status(lagBytes), ts.status(lagSeconds));
            if (s != Status.OK) {
                status = ReplicationChecks.worse(status, s);
                problems.add("the archive is behind the server: " + lagText);
            }
        }
        String message = problems.isEmpty()
                ? "slot " + SLOT_NAME + " active, retains " + Unit.BYTES.format(retained) + "; " + lagText
                : String.join("; ", problems);
        return new CheckOutcome(name(), status, message, metrics, List.of(item));
    }

    /** The newest archived file of the timeline and where its WAL ends. */
    record Archived(String name, Lsn end, java.time.Instant storedAt) {
    }

    static Optional<Archived> newestArchived(RepoLocation where, int timeline, int segSize) {
        String tli = String.format("%08X", timeline);
        List<WalArchive.Entry> all;
        Repository repo;
        try {
            repo = Repository.open(where);
            all = new WalArchive(repo).list();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
        WalArchive.Entry newest = null;
        for (WalArchive.Entry e : all) {
            String n = e.name();
            boolean wal = e.isSegment() || WalArchive.isPartialSegmentName(n);
            if (!wal || !e.timeline().equals(tli)) {
                continue;
            }
            int cmp = newest == null ? 1 : n.substring(0, 24).compareTo(newest.name().substring(0, 24));
            if (cmp > 0 || (cmp == 0 && e.isSegment())) {
                newest = e; // a complete segment beside a leftover NAME.partial wins
            }
        }
        if (newest == null) {
            return Optional.empty();
        }
        String segment = newest.name().substring(0, 24);
        if (newest.isSegment()) {
            return Optional.of(new Archived(newest.name(), Lsn.segmentEnd(segment, segSize), newest.archivedAt()));
        }
        long written = writtenBytes(repo, newest.name());
        Lsn end = new Lsn(Lsn.segmentStart(segment, segSize).value() + written);
        return Optional.of(new Archived(newest.name(), end, newest.archivedAt()));
    }

    /**
     * How far a stored partial segment was written: as its sidecar records it (so an
     * encrypted one needs no key), else past its last non-zero byte, to the next 8-byte
     * boundary (WAL records are aligned).
     */
    private static long writtenBytes(Repository repo, String name) {
        Optional<Long> recorded = new WalArchive(repo).recordedWrittenBytes(name);
        if (recorded.isPresent()) {
            return recorded.get();
        }
        Path tmp = null;
        try {
            tmp = Files.createTempFile("chrono-dr-partial-", ".wal");
            Files.delete(tmp); // fetch writes it whole or not at all
            if (new WalArchive(repo).fetch(name, tmp).isEmpty()) {
                return 0;
            }
            long last = -1;
            long pos = 0;
            byte[] buf = new byte[1 << 16];
            try (InputStream in = Files.newInputStream(tmp)) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    for (int i = n - 1; i >= 0; i--) {
                        if (buf[i] != 0) {
                            last = pos + i;
                            break;
                        }
                    }
                    pos += n;
                }
            }
            return last < 0 ? 0 : ((last + 1 + 7) / 8) * 8;
        } catch (IOException | RuntimeException e) {
            return 0;
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a temp file
                }
            }
        }
    }
}
