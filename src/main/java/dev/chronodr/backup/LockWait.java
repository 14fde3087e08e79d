package dev.chronodr.backup;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Progress;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.repo.BackupManifest.TableEntry;

/**
 * Bounded lock waits for a logical backup. The backup's snapshot transaction takes ACCESS
 * SHARE on every table it reads before pg_dump starts, each wait limited by lock_timeout;
 * while one waits, a second session asks pg_blocking_pids who holds it, so that giving up
 * names the table and the blocking session instead of hanging for ever.
 */
final class LockWait {
    private static final Logger log = LoggerFactory.getLogger(LockWait.class);
    private static final Pattern DUMP_LOCK = Pattern.compile("LOCK TABLE (.+?) IN ACCESS SHARE MODE");
    private static final Duration POLL = Duration.ofMillis(250);

    private static final String BLOCKERS = """
            SELECT a.pid, a.usename, a.query_start, a.state
            FROM pg_stat_activity a
            WHERE a.pid = ANY (pg_blocking_pids(?))
            ORDER BY a.query_start NULLS LAST
            """;

    /** A session in the way: who, and since when its current (or last) statement runs. */
    record Blocker(int pid, String user, OffsetDateTime queryStart, String state) {
        String describe() {
            return "pid " + pid + " (user " + user + ", query started " + (queryStart == null ? "?" : queryStart)
                    + (state == null ? "" : ", " + state) + ")";
        }
    }

    private LockWait() {
    }

    /**
     * Locks every table in the current transaction of {@code conn}, and sets lock_timeout
     * for the rest of it (row counts, digests). Throws a failed ChronoException naming the
     * table and its blockers when one lock is not granted in time.
     */
    static void lockAll(Connection conn, ConnectionSettings observerSettings, List<TableEntry> tables, Duration timeout,
                        Progress progress) throws SQLException {
        int pid;
        try (Statement st = conn.createStatement()) {
            st.execute("SET LOCAL lock_timeout = " + timeout.toMillis());
            try (ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                pid = rs.getInt(1);
            }
        }
        AtomicReference<String> waitingOn = new AtomicReference<>();
        AtomicReference<List<Blocker>> seen = new AtomicReference<>(List.of());
        ScheduledExecutorService observer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "backup-lock-observer");
            t.setDaemon(true);
            return t;
        });
        Observer watch = new Observer(observerSettings, pid, waitingOn, seen, progress);
        long first = Math.min(1000, Math.max(100, timeout.toMillis() / 4));
        observer.scheduleWithFixedDelay(watch, first, POLL.toMillis(), TimeUnit.MILLISECONDS);
        try (Statement st = conn.createStatement()) {
            for (TableEntry t : tables) {
                String table = Identifiers.qualified(t.schema(), t.name());
                waitingOn.set(t.qualifiedName());
                try {
                    st.execute("LOCK TABLE " + table + " IN ACCESS SHARE MODE");
                } catch (SQLException e) {
                    if ("55P03".equals(e.getSQLState())) { // lock_not_available: lock_timeout expired
                        throw gaveUp(t.qualifiedName(), timeout, seen.get());
                    }
                    throw e;
                }
            }
        } finally {
            waitingOn.set(null);
            observer.shutdownNow();
            try {
                observer.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            watch.close();
        }
    }

    /**
     * pg_dump's own bounded wait (--lock-wait-timeout) ran out: a session queued for an
     * exclusive lock after the backup took its own. Names the table and who holds or
     * awaits ACCESS EXCLUSIVE on it. Null when the failure was something else.
     */
    static ChronoException dumpGaveUp(Throwable failure, Connection conn, Duration timeout) {
        Throwable c = failure;
        while (c != null && !(c instanceof ProcessFailedException)) {
            c = c.getCause();
        }
        if (!(c instanceof ProcessFailedException p)) {
            return null;
        }
        String tail = p.stderrTail();
        Matcher m = DUMP_LOCK.matcher(tail);
        if (!m.find() || !tail.toLowerCase(Locale.ROOT).contains("timeout")) {
            return null;
        }
        String table = m.group(1);
        List<Blocker> blockers = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement("""
                SELECT DISTINCT a.pid, a.usename, a.query_start, a.state
                FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'relation' AND l.relation = to_regclass(?) AND l.mode = 'AccessExclusiveLock'
                  AND l.pid <> pg_backend_pid()
                """)) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    blockers.add(blocker(rs));
                }
            }
        } catch (SQLException e) {
            log.debug("cannot read who locks {}: {}", table, e.getMessage());
        }
        return gaveUp(table, timeout, blockers);
    }

    private static ChronoException gaveUp(String table, Duration timeout, List<Blocker> blockers) {
        String who = blockers.isEmpty() ? "the session holding it could not be identified (it may have just finished)"
                : "blocked by " + String.join(", ", blockers.stream().map(Blocker::describe).toList());
        String hint = blockers.isEmpty() ? "run the backup again, or raise --lock-timeout"
                : "wait for that session to finish, end it (SELECT pg_terminate_backend(" + blockers.get(0).pid()
                + ");), or raise --lock-timeout; no backup was written";
        return ChronoException.failed("backup gave up after " + timeout.toSeconds() + " s waiting for a lock on table " + table
                + ": " + who, hint);
    }

    private static Blocker blocker(ResultSet rs) throws SQLException {
        return new Blocker(rs.getInt(1), rs.getString(2), rs.getObject(3, OffsetDateTime.class), rs.getString(4));
    }

    /** Samples, on a session of its own, who blocks the backup's session while it waits. */
    private static final class Observer implements Runnable, AutoCloseable {
        private final ConnectionSettings settings;
        private final int pid;
        private final AtomicReference<String> waitingOn;
        private final AtomicReference<List<Blocker>> seen;
        private final Progress progress;
        private Connection conn;
        private boolean told;

        Observer(ConnectionSettings settings, int pid, AtomicReference<String> waitingOn, AtomicReference<List<Blocker>> seen,
                 Progress progress) {
            this.settings = settings;
            this.pid = pid;
            this.waitingOn = waitingOn;
            this.seen = seen;
            this.progress = progress;
        }

        @Override
        public void run() {
            String table = waitingOn.get();
            if (table == null) {
                return;
            }
            try {
                if (conn == null) {
                    conn = Database.connect(settings);
                }
                List<Blocker> blockers = new ArrayList<>();
                try (PreparedStatement ps = conn.prepareStatement(BLOCKERS)) {
                    ps.setInt(1, pid);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            blockers.add(blocker(rs));
                        }
                    }
                }
                if (blockers.isEmpty() || !table.equals(waitingOn.get())) {
                    return;
                }
                seen.set(List.copyOf(blockers));
                String line = "backup: waiting for a lock on " + table + ", held by " + blockers.get(0).describe();
                progress.update(line);
                if (!told) {
                    told = true;
                    log.warn(line);
                }
            } catch (SQLException | ChronoException e) {
                log.debug("cannot see who blocks the backup: {}", e.getMessage());
            }
        }

        @Override
        public void close() {
            if (conn != null) {
                try {
                    conn.close();
                } catch (SQLException ignored) {
                    // an observer only
                }
            }
        }
    }
}
