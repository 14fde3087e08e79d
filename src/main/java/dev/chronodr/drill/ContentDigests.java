package dev.chronodr.drill;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.CopyDigest;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.TableDigest;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.restore.TableLoaded;

/**
 * The c256 digests of a backup's tables (SHA-256 of each table's COPY text) taken again from
 * the restored copy, one table at a time on one connection of its own. A table can be read as
 * soon as the restore says its data is in ({@link #loaded}): its rows no longer change, and the
 * reading uses a core the restore leaves idle. {@link #finish} reads the tables not read yet
 * and says which differ. Each table is read once, in its own transaction.
 */
final class ContentDigests implements TableLoaded, AutoCloseable {
    private final ConnectionSettings scratch;
    private final Map<String, BackupManifest.TableEntry> pending = new LinkedHashMap<>();
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    private final ExecutorService reader = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "dr-test-digests");
        t.setDaemon(true);
        return t;
    });
    private Connection connection;
    private volatile boolean closed;
    private int early;

    ContentDigests(ConnectionSettings scratch, List<BackupManifest.TableEntry> tables) {
        this.scratch = scratch;
        for (BackupManifest.TableEntry e : tables) {
            pending.put(key(e.schema(), e.name()), e);
        }
    }

    private static String key(String schema, String table) {
        return schema + "\u0000" + table;
    }

    @Override
    public void loaded(String schema, String table) {
        BackupManifest.TableEntry e;
        synchronized (this) {
            e = closed ? null : pending.remove(key(schema, table));
            if (e == null) {
                return;
            }
            early++;
        }
        reader.execute(() -> read(e));
    }

    /** Reads what is left, waits for every table, and returns the tables that differ (or could not be read). */
    List<String> finish() throws SQLException {
        List<BackupManifest.TableEntry> rest;
        synchronized (this) {
            rest = new ArrayList<>(pending.values());
            pending.clear();
        }
        rest.forEach(e -> reader.execute(() -> read(e)));
        reader.shutdown();
        try {
            while (!reader.awaitTermination(1, TimeUnit.SECONDS)) {
                // each table takes as long as its COPY text
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while the digests were read");
        }
        synchronized (this) {
            closeConnection();
            if (failure != null) {
                throw failure;
            }
        }
        return List.copyOf(problems);
    }

    /** How many tables were read while the restore still ran. */
    synchronized int readEarly() {
        return early;
    }

    private SQLException failure;

    private void read(BackupManifest.TableEntry e) {
        Connection c;
        synchronized (this) {
            if (closed || failure != null) {
                return;
            }
            try {
                if (connection == null) {
                    connection = Database.connect(scratch);
                    connection.setAutoCommit(false);
                }
            } catch (SQLException ex) {
                failure = ex;
                return;
            }
            c = connection;
        }
        try {
            TableDigest.Digest d = TableDigest.like(c, e.schema(), e.name(), e.digest());
            if (!d.value().equals(e.digest()) || d.rows() != e.rows()) {
                problems.add(e.qualifiedName() + ": content differs from the backup's (" + d.rows() + " rows restored, " + e.rows()
                        + " in the backup)");
            }
        } catch (SQLException ex) {
            if (!closed) {
                problems.add(e.qualifiedName() + ": could not be read: " + ex.getMessage());
            }
        } finally {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // the next table's read says so if the connection is gone
            }
        }
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // closing a connection to a scratch database that is about to be dropped
            }
            connection = null;
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
        synchronized (this) {
            if (connection != null) {
                try {
                    connection.abort(Runnable::run); // a COPY in progress ends now, not when its table is read
                } catch (SQLException ignored) {
                    // gone already
                }
                connection = null;
            }
        }
    }

    static boolean isCopyText(BackupManifest.TableEntry e) {
        return e.digest() != null && e.digest().startsWith(CopyDigest.PREFIX);
    }
}
