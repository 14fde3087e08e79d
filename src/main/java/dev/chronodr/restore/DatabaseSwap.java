package dev.chronodr.restore;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Identifiers;

/**
 * The SQL that puts a verified copy under the live name: both renames in ONE transaction on the
 * maintenance database, so at every instant exactly one database carries the live name, and a
 * crash or failure in between rolls both back. Also the session ending, the connection blocking
 * and the statements that undo a swap.
 */
final class DatabaseSwap {
    private static final Logger log = LoggerFactory.getLogger(DatabaseSwap.class);

    /** Runs between the two renames; tests inject a failure here. */
    private final Runnable betweenRenames;

    DatabaseSwap(Runnable betweenRenames) {
        this.betweenRenames = betweenRenames;
    }

    /**
     * Ends the other sessions, then renames live to previous and staging to live in one
     * transaction. The first rename holds an exclusive lock on the database, so sessions that
     * try to connect meanwhile wait and then find the new database. A session that slips in
     * between the terminate and the rename makes the rename fail (55006): end it and retry.
     * Only when sessions keep coming back (a pool reconnecting at once) are new connections
     * blocked with ALLOW_CONNECTIONS false, and allowed again right after; that flag is the
     * one thing a crash in that short window could leave behind, so it is the last resort.
     * Returns false when there was no live database to replace.
     */
    boolean swap(Connection admin, String live, String staging, String previous, DatabaseProperties kept) throws SQLException {
        // The staging marker gives way to the live database's comment in the renames' transaction:
        // a crash leaves either a marked staging database or the finished swap, never an unmarked copy.
        String comment = kept != null ? kept.commentSql(live) : "COMMENT ON DATABASE " + Identifiers.quote(live) + " IS NULL";
        if (kept == null || !Databases.exists(admin, live)) {
            admin.setAutoCommit(false);
            try {
                Databases.exec(admin, rename(staging, live));
                Databases.exec(admin, "COMMENT ON DATABASE " + Identifiers.quote(live) + " IS NULL");
                admin.commit();
            } catch (SQLException | RuntimeException e) {
                admin.rollback();
                throw e;
            } finally {
                admin.setAutoCommit(true);
            }
            return false;
        }
        boolean blocked = false;
        boolean swapped = false;
        try {
            for (int attempt = 1; ; attempt++) {
                if (attempt == 4) {
                    log.warn("sessions keep reconnecting to {}; blocking new connections for the swap", live);
                    blockConnections(admin, live);
                    blocked = true;
                }
                terminate(admin, live);
                admin.setAutoCommit(false);
                try {
                    Databases.exec(admin, rename(live, previous));
                    betweenRenames.run();
                    Databases.exec(admin, rename(staging, live));
                    Databases.exec(admin, comment);
                    admin.commit();
                    swapped = true;
                    return true;
                } catch (SQLException e) {
                    admin.rollback();
                    if (!"55006".equals(e.getSQLState()) || attempt >= 6) {
                        throw ChronoException.failed("swap failed, " + live + " is unchanged: " + e.getMessage(),
                                "the restored copy is in " + staging, e);
                    }
                    log.warn("a session reached {} before the rename; retrying the swap ({})", live, attempt);
                } catch (RuntimeException e) {
                    admin.rollback();
                    throw e;
                } finally {
                    admin.setAutoCommit(true);
                }
            }
        } finally {
            if (blocked) {
                // The old data accepts connections again under whichever name it now has.
                Databases.exec(admin, allowConnectionsSql(swapped ? previous : live, true));
            }
        }
    }

    /** What undoes a finished swap, for the user to run: the restored copy goes to {@code rolled}, the previous one back. */
    static List<String> rollback(String live, String previous, String rolled) {
        return List.of(
                allowConnectionsSql(live, false) + ";",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + RestoreService.literal(live) + ";",
                "BEGIN;",
                rename(live, rolled) + ";",
                rename(previous, live) + ";",
                "COMMIT;",
                allowConnectionsSql(rolled, true) + ";");
    }

    /** New sessions are refused until allowed again; existing ones go on. */
    static void blockConnections(Connection admin, String db) throws SQLException {
        Databases.exec(admin, allowConnectionsSql(db, false));
    }

    /** Ends every other session on {@code db}, for up to 15 s while they keep coming. */
    static void terminate(Connection admin, String db) throws SQLException {
        long deadline = System.nanoTime() + 15_000_000_000L;
        String sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()";
        while (true) {
            int n;
            try (PreparedStatement ps = admin.prepareStatement(sql)) {
                ps.setString(1, db);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    n = rs.getInt(1);
                }
            }
            if (n == 0) {
                return;
            }
            log.info("ended {} session(s) on {}", n, db);
            if (System.nanoTime() > deadline) {
                throw ChronoException.failed("sessions on " + db + " do not end", "stop the applications using it and run again");
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ChronoException.failed("interrupted while ending sessions on " + db, null);
            }
        }
    }

    private static String rename(String from, String to) {
        return "ALTER DATABASE " + Identifiers.quote(from) + " RENAME TO " + Identifiers.quote(to);
    }

    private static String allowConnectionsSql(String db, boolean allow) {
        return "ALTER DATABASE " + Identifiers.quote(db) + " ALLOW_CONNECTIONS " + allow;
    }
}
