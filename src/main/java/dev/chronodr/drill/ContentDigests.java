package dev.chronodr.drill;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.CopyDigest;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.pg.TableDigest;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.report.TextOutput;
import dev.chronodr.restore.TableLoaded;
import dev.chronodr.verify.Timeouts;

/**
 * The c256 digests of a backup's tables (SHA-256 of each table's COPY text) taken again from
 * the restored copy, one table at a time on one connection of its own. A table can be read as
 * soon as the restore says its data is in ({@link #loaded}): its rows no longer change, and the
 * reading uses a core the restore leaves idle. {@link #finish} reads the tables not read yet
 * and says which differ; a table that could not be compared is a problem too, never a pass.
 * Each table is read once, in its own transaction.
 *
 * <p>Nothing here waits without end. While the restore runs, a table it still holds (its
 * primary key being built takes an exclusive lock) is not waited for: it is read after the
 * restore. And a server that sends nothing for {@code silence} (hung, or a lock held by
 * someone else) ends the reading: the table and every one not read yet are problems.
 */
final class ContentDigests implements TableLoaded, AutoCloseable {
    /** SQLSTATE lock_not_available: {@code LOCK ... NOWAIT} found the table held. */
    private static final String LOCK_NOT_AVAILABLE = "55P03";
    private final ConnectionSettings scratch;
    private final Duration silence;
    private final int expected;
    private final Map<String, BackupManifest.TableEntry> pending = new LinkedHashMap<>();
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    private final ExecutorService reader = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "dr-test-digests");
        t.setDaemon(true);
        return t;
    });
    /** Set and used by the reader thread only; {@link #close} aborts it from another. */
    private volatile Connection connection;
    private volatile boolean closed;
    private volatile boolean finishing;
    /** The server sent nothing for {@link #silence}: no more tables are tried. */
    private volatile boolean unanswered;
    /** Tables left unread because the server stopped answering: no verdict on their content (problems holds them too). */
    private volatile int unread;
    /** {@link #finish} has taken the tables left: a table the restore still held is read at once, no longer put back. */
    private boolean drained;
    private int matched;
    private int early;
    private int announced;

    ContentDigests(ConnectionSettings scratch, List<BackupManifest.TableEntry> tables, Duration silence) {
        this.scratch = scratch;
        this.silence = silence;
        for (BackupManifest.TableEntry e : tables) {
            pending.put(key(e.schema(), e.name()), e);
        }
        this.expected = pending.size();
    }

    private static String key(String schema, String table) {
        return schema + "\u0000" + table;
    }

    @Override
    public void loaded(String schema, String table) {
        BackupManifest.TableEntry e;
        synchronized (this) {
            e = closed ? null : pending.remove(key(schema, table));
            if (e != null) {
                announced++;
            }
        }
        if (e != null) {
            submit(e);
        }
    }

    /** The restore failed: its database is about to be dropped, so nothing more is read from it. */
    @Override
    public void failed() {
        close();
    }

    private void submit(BackupManifest.TableEntry e) {
        try {
            reader.execute(() -> read(e));
        } catch (RejectedExecutionException stopped) {
            problems.add(e.qualifiedName() + ": not read (the drill stopped reading)");
        }
    }

    /** The restore has returned: tables read from now on were not read while it went on. */
    void restoreEnded() {
        finishing = true;
    }

    /** Reads what is left, waits for every table, and returns the tables that differ or could not be compared. */
    List<String> finish() throws SQLException {
        finishing = true;
        List<BackupManifest.TableEntry> rest;
        synchronized (this) {
            rest = new ArrayList<>(pending.values());
            pending.clear();
            drained = true;
        }
        rest.forEach(this::submit);
        reader.shutdown();
        try {
            while (!reader.awaitTermination(1, TimeUnit.SECONDS)) {
                // each table takes as long as its COPY text
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while the digests were read");
        }
        closeConnection();
        List<String> out = new ArrayList<>(problems);
        synchronized (this) {
            // every table ends as a match or as one problem: any other count is a table nobody compared
            if (matched + out.size() < expected) {
                out.add((expected - matched - out.size()) + " table(s) were not compared");
            }
        }
        return out;
    }

    /** How many of the problems are tables the server stopped answering for, rather than content found to differ. */
    int unread() {
        return unread;
    }

    /** How many tables the restore announced as loaded while it ran. */
    synchronized int announced() {
        return announced;
    }

    /** How many tables were read before {@link #finish} was called (that is, while the restore still ran). */
    synchronized int readEarly() {
        return early;
    }

    /** On the reader thread. */
    private void read(BackupManifest.TableEntry e) {
        if (closed) {
            return;
        }
        if (unanswered) {
            problems.add(e.qualifiedName() + ": not read: the server had sent nothing for " + TextOutput.duration(silence));
            unread++;
            return;
        }
        Connection c = connection;
        boolean connected = false; // a timeout before this is the connect's own (10 s), not the server's silence
        try {
            if (c == null) {
                c = Database.connect(scratch);
                try {
                    c.setAutoCommit(false);
                    c.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, silence.toMillis()));
                } catch (SQLException | RuntimeException setup) {
                    c.close();
                    throw setup;
                }
                connection = c;
                if (closed) { // close() ran while we connected: it could not abort this one
                    closeConnection();
                    return;
                }
            }
            connected = true;
            boolean during = !finishing;
            if (!lock(c, e, during)) {
                return; // put back: read after the restore
            }
            TableDigest.Digest d = TableDigest.like(c, e.schema(), e.name(), e.digest());
            if (!d.value().equals(e.digest()) || d.rows() != e.rows()) {
                problems.add(e.qualifiedName() + ": content differs from the backup's (" + d.rows() + " rows restored, " + e.rows()
                        + " in the backup)");
            } else {
                synchronized (this) {
                    matched++;
                }
            }
            if (during && !finishing) {
                synchronized (this) {
                    early++;
                }
            }
        } catch (SQLException | RuntimeException ex) {
            if (!closed) {
                if (connected && Timeouts.readTimedOut(ex)) {
                    unanswered = true;
                    problems.add(e.qualifiedName() + ": could not be read: the server sent nothing for " + TextOutput.duration(silence)
                            + " (hung, or the table locked by another session)");
                    unread++;
                    closeConnection();
                } else {
                    problems.add(e.qualifiedName() + ": could not be read: " + ex.getMessage());
                }
            }
        } finally {
            Connection open = connection;
            if (open != null) {
                try {
                    open.rollback();
                } catch (SQLException ignored) {
                    // the next table's read says so if the connection is gone
                }
            }
        }
    }

    /**
     * Takes the table's share lock in the reading transaction. While the restore runs it does not wait: a table
     * the restore holds goes back to the tables left, for {@link #finish}, and this returns false.
     */
    private boolean lock(Connection c, BackupManifest.TableEntry e, boolean restoreRunning) throws SQLException {
        // ONLY: COPY TO reads this table's own rows, never those of tables that inherit from it
        String sql = "LOCK TABLE ONLY " + Identifiers.qualified(e.schema(), e.name()) + " IN ACCESS SHARE MODE" + (restoreRunning ? " NOWAIT" : "");
        try (Statement st = c.createStatement()) {
            st.execute(sql);
            return true;
        } catch (SQLException held) {
            if (!restoreRunning || !LOCK_NOT_AVAILABLE.equals(held.getSQLState())) {
                throw held;
            }
        }
        c.rollback();
        synchronized (this) {
            if (closed) {
                return false; // the drill stopped reading
            }
            if (!drained) {
                pending.put(key(e.schema(), e.name()), e);
                return false;
            }
        }
        // finish() has taken the tables left already: the restore is over, so read it now
        return lock(c, e, false);
    }

    private void closeConnection() {
        Connection c = connection;
        connection = null;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing a connection to a scratch database that is about to be dropped
            }
        }
    }

    /** Stops reading (a failed restore, or the scratch database about to be dropped): nothing more is read. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            pending.clear();
        }
        reader.shutdownNow();
        Connection c = connection;
        if (c != null) {
            try {
                c.abort(Runnable::run); // a COPY in progress ends now, not when its table is read
            } catch (SQLException ignored) {
                // gone already
            }
        }
    }

    static boolean isCopyText(BackupManifest.TableEntry e) {
        return e.digest() != null && e.digest().startsWith(CopyDigest.PREFIX);
    }
}
