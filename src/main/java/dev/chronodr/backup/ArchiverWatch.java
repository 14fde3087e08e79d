package dev.chronodr.backup;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Progress;
import dev.chronodr.repo.WalArchive;

/**
 * Waits for a WAL segment to reach the archive while watching pg_stat_archiver: the wait
 * shows what it waits for and the archiver's state (progress on a terminal; a log line on
 * stderr after 10 s and every minute), and gives up within seconds when the archiver has
 * been failing since the backup started on the segment awaited or an earlier one, since
 * that segment will not come. A slow archiver is waited for, up to the limit.
 */
final class ArchiverWatch {
    private static final Logger LOG = LoggerFactory.getLogger(ArchiverWatch.class);
    private static final String STATS = """
            SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time, now()
              FROM pg_catalog.pg_stat_archiver
            """;
    /**
     * The archiver tries a segment three times, a second apart, before it pauses: three
     * failures since the start, none followed by a success, are one whole round failed
     * (a single blip is retried and passes).
     */
    static final int FAILURES = 3;

    /** One reading of pg_stat_archiver, with the server's clock. */
    record State(long archivedCount, String lastArchivedWal, OffsetDateTime lastArchivedTime, long failedCount, String lastFailedWal,
                 OffsetDateTime lastFailedTime, OffsetDateTime at) {

        String describe() {
            String archived = lastArchivedWal == null ? "nothing archived yet" : "last archived " + lastArchivedWal + " at " + lastArchivedTime;
            String failed = lastFailedWal == null ? "no failure" : "last failed " + lastFailedWal + " at " + lastFailedTime;
            return archived + "; " + failed;
        }
    }

    private final Connection conn;
    private final State start;

    private ArchiverWatch(Connection conn, State start) {
        this.conn = conn;
        this.start = start;
    }

    /** Read before the backup starts: failures from before then are not held against it. Null state: the view is unreadable. */
    static ArchiverWatch start(Connection conn) {
        return new ArchiverWatch(conn, read(conn).orElse(null));
    }

    static Optional<State> read(Connection c) {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(STATS)) {
            rs.next();
            return Optional.of(new State(rs.getLong(1), rs.getString(2), rs.getObject(3, OffsetDateTime.class), rs.getLong(4),
                    rs.getString(5), rs.getObject(6, OffsetDateTime.class), rs.getObject(7, OffsetDateTime.class)));
        } catch (SQLException e) {
            return Optional.empty(); // the wait goes on without it, bounded by its limit
        }
    }

    /**
     * Why the segment will not come, when the archiver failed at least {@link #FAILURES}
     * times since the start, its last failure is after the start and after its last
     * success, and it failed on the segment awaited or one before it (a history file
     * comes before its timeline's segments).
     */
    static Optional<String> failing(State start, State now, String segment) {
        if (start == null || now == null || now.lastFailedTime() == null || now.lastFailedWal() == null) {
            return Optional.empty();
        }
        boolean sinceStart = now.failedCount() - start.failedCount() >= FAILURES && now.lastFailedTime().isAfter(start.at());
        boolean notRecovered = now.lastArchivedTime() == null || now.lastArchivedTime().isBefore(now.lastFailedTime());
        String failed = now.lastFailedWal();
        boolean blocks = failed.length() < 24 || !WalArchive.isSegmentName(failed.substring(0, 24))
                || failed.substring(0, 24).compareTo(segment) <= 0;
        if (!sinceStart || !notRecovered || !blocks) {
            return Optional.empty();
        }
        return Optional.of("the server's archiver is failing: archive_command failed " + (now.failedCount() - start.failedCount())
                + " times since the backup started, last on " + failed + " at " + now.lastFailedTime()
                + (now.lastArchivedWal() == null ? ", and has archived nothing" : ", last success " + now.lastArchivedWal() + " at "
                + now.lastArchivedTime()));
    }

    /**
     * Returns once the segment is in the archive; throws when the archiver fails on it or the
     * limit passes. {@code role}: what the segment is to the backup, for the messages.
     */
    void await(WalArchive archive, String segment, String role, Duration limit, Progress progress) {
        long t0 = System.nanoTime();
        long nextRead = t0;
        long nextLog = t0 + Duration.ofSeconds(10).toNanos();
        State now = start;
        while (!archive.contains(segment)) {
            long clock = System.nanoTime();
            if (clock >= nextRead) {
                now = read(conn).orElse(now);
                nextRead = clock + 1_000_000_000L;
                Optional<String> why = failing(start, now, segment);
                if (why.isPresent()) {
                    progress.done();
                    throw ChronoException.failed(why.get() + ": WAL segment " + segment + " (" + role + ") will not reach "
                            + archive.location() + "; the backup is not kept",
                            "the server log has archive_command's error; check that the OS user the server runs as can write "
                                    + archive.location() + (remote(archive) ? " (its environment needs the AWS settings: docs/object-storage.md)"
                                    : " (chrono-dr pitr setup --apply does that)") + " and that archive_command is right");
                }
            }
            long waited = (clock - t0) / 1_000_000_000L;
            String line = String.format(Locale.ROOT, "waiting for WAL segment %s to be archived (%d s of %d s): archiver %s",
                    segment, waited, limit.toSeconds(), now == null ? "state unknown" : now.describe());
            progress.update(line);
            if (clock >= nextLog) {
                LOG.warn(line);
                nextLog = clock + Duration.ofMinutes(1).toNanos();
            }
            if (clock - t0 > limit.toNanos()) {
                progress.done();
                throw ChronoException.failed("WAL segment " + segment + " (" + role + ") did not reach "
                        + archive.location() + " within " + limit.toSeconds() + " s; the backup is not kept (archiver: "
                        + (now == null ? "state unknown" : now.describe()) + ")",
                        "check that archive_command is 'chrono-dr wal-push --repo " + repoOf(archive)
                                + " %p' (chrono-dr pitr setup) and the server log for archiver errors, or, when WAL is streamed,"
                                + " that 'chrono-dr wal-receive --repo " + repoOf(archive) + "' is running");
            }
            // a bucket is asked at most twice a second (each look is one or two HEAD requests)
            PhysicalBackupService.sleep(remote(archive) ? 500 : 50);
        }
        progress.done();
    }

    /** The repository an archive is in ({@link WalArchive#location} is REPO/wal), for the hints. */
    private static String repoOf(WalArchive archive) {
        String at = archive.location();
        return at.endsWith("/wal") ? at.substring(0, at.length() - "/wal".length()) : at;
    }

    private static boolean remote(WalArchive archive) {
        return archive.location().startsWith(dev.chronodr.repo.RepoLocation.S3_SCHEME);
    }

    /**
     * With -X none (no free WAL sender, pg_basebackup 12-14, through a container) the server
     * itself waits, inside pg_basebackup, until the WAL up to the backup's end is archived,
     * and with no limit. While pg_basebackup runs, this watches for that wait (phase
     * "waiting for WAL archiving" of the WAL sender whose BASE_BACKUP carries our label),
     * shows it, and when the archiver is failing ends that WAL sender, so pg_basebackup
     * fails and {@link ServerWait#reason()} says why. The connection is the backup's own,
     * idle until {@link ServerWait#close()} has joined the thread.
     */
    ServerWait watchServerWait(String label, Progress progress) {
        return new ServerWait(label, progress);
    }

    private static final String WAITING_SENDER = """
            SELECT p.pid FROM pg_catalog.pg_stat_progress_basebackup p JOIN pg_catalog.pg_stat_activity a USING (pid)
             WHERE lower(p.phase) LIKE 'waiting for wal archiving%' AND position(? in a.query) > 0
            """;

    final class ServerWait implements AutoCloseable {
        private final AtomicReference<String> reason = new AtomicReference<>();
        private final Thread thread;
        private volatile boolean done;

        private ServerWait(String label, Progress progress) {
            thread = new Thread(() -> watch("'" + label + "'", progress), "chrono-dr-archiver-watch");
            thread.setDaemon(true);
            thread.start();
        }

        /** Why the server's wait was ended: the archiver's failure. */
        Optional<String> reason() {
            return Optional.ofNullable(reason.get());
        }

        private void watch(String quotedLabel, Progress progress) {
            long t0 = 0;
            long nextLog = 0;
            while (!done && reason.get() == null) {
                try (var ps = conn.prepareStatement(WAITING_SENDER)) {
                    ps.setString(1, quotedLabel);
                    Integer pid = null;
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            pid = rs.getInt(1);
                        }
                    }
                    if (pid != null) {
                        long clock = System.nanoTime();
                        t0 = t0 == 0 ? clock : t0;
                        State now = read(conn).orElse(null);
                        String line = String.format(Locale.ROOT, "the server waits for the WAL up to this backup's end to be archived (%d s): archiver %s",
                                (clock - t0) / 1_000_000_000L, now == null ? "state unknown" : now.describe());
                        progress.update(line);
                        if (clock - t0 >= Duration.ofSeconds(10).toNanos() && clock >= nextLog) {
                            LOG.warn(line);
                            nextLog = clock + Duration.ofMinutes(1).toNanos();
                        }
                        Optional<String> why = failing(start, now, "FFFFFFFFFFFFFFFFFFFFFFFF");
                        if (why.isPresent()) {
                            reason.set(why.get());
                            try (var kill = conn.prepareStatement("SELECT pg_catalog.pg_terminate_backend(?)")) {
                                kill.setInt(1, pid); // pg_terminate_backend(integer)
                                kill.execute();
                            }
                        }
                    }
                } catch (SQLException e) {
                    if (reason.get() != null) {
                        LOG.warn("could not stop the base backup's WAL sender: {}", e.getMessage());
                    }
                    // otherwise: the watch goes on without this reading
                }
                sleepQuietly();
            }
        }

        private void sleepQuietly() {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                done = true;
            }
        }

        @Override
        public void close() {
            done = true;
            thread.interrupt();
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
