package dev.chronodr.drill;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.pg.TableDigest;
import dev.chronodr.wal.RestorePointResult;
import dev.chronodr.wal.RestorePointService;

/**
 * The drill's target and what the live database held at it, captured so that the two
 * match exactly:
 * <ol>
 * <li>connection A: {@code BEGIN ISOLATION LEVEL REPEATABLE READ; LOCK TABLE <critical> IN
 * SHARE MODE} waits for the transactions writing to those tables to end and keeps new
 * writers out (readers go on). Every write to them is now committed, so its commit record
 * is in the WAL and it is visible to a snapshot taken now;</li>
 * <li>still under the lock, A takes its snapshot and exports it ({@code pg_export_snapshot()}),
 * and creates the restore point: its WAL record comes after every one of those commits and
 * before any later write to the tables;</li>
 * <li>connection B imports the snapshot ({@code SET TRANSACTION SNAPSHOT}), then A commits:
 * the lock is held only for these few statements, never for the scans;</li>
 * <li>B counts and digests the tables at leisure: it sees exactly what recovery to the
 * restore point rebuilds.</li>
 * </ol>
 * Tables are picked as the logical drill's fresh backup picks the ones it digests: a
 * {@code critical_tables} entry names a table by {@code name} or {@code schema.name};
 * digests are {@link TableDigest}'s.
 */
final class PointCapture {
    /** One table at the point: its rows and digest. */
    record Table(String schema, String name, long rows, String digest) {
        String qualifiedName() {
            return schema + "." + name;
        }
    }

    /** The restore point, the tables at it, and how long writers to them were held off (waiting for the lock included). */
    record Captured(RestorePointResult point, List<Table> tables, long lockMillis, long digestMillis) {
    }

    private PointCapture() {
    }

    /** The critical tables as they exist: an entry that names no table is bad input (64), before anything is locked. */
    static List<Table> resolve(Connection c, List<String> critical) throws SQLException {
        List<Table> all = dev.chronodr.pg.UserTables.list(c).stream().map(t -> new Table(t.schema(), t.name(), 0, null)).toList();
        List<Table> chosen = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        for (String n : critical) {
            List<Table> match = all.stream().filter(t -> t.name().equals(n) || t.qualifiedName().equals(n)).toList();
            if (match.isEmpty()) {
                unknown.add(n);
            }
            match.stream().filter(t -> !chosen.contains(t)).forEach(chosen::add);
        }
        if (!unknown.isEmpty()) {
            throw ChronoException.usage("critical_tables names no table of " + c.getCatalog() + ": " + String.join(", ", unknown),
                    "check critical_tables in the config (a table as name or schema.name)");
        }
        return chosen;
    }

    static Captured capture(ConnectionSettings live, dev.chronodr.repo.Repository repo, String pointName, List<String> critical, java.time.Duration lockTimeout) {
        try (Connection a = Database.connect(live); Connection b = Database.connect(live)) {
            List<Table> tables = resolve(a, critical);
            a.setAutoCommit(false);
            b.setAutoCommit(false);
            long t0 = System.nanoTime();
            RestorePointResult point;
            try (Statement st = a.createStatement()) {
                st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
                st.execute("SET LOCAL lock_timeout = '" + Math.max(1, lockTimeout.toMillis()) + "ms'");
                if (!tables.isEmpty()) {
                    st.execute("LOCK TABLE " + String.join(", ", tables.stream().map(t -> Identifiers.qualified(t.schema(), t.name())).toList())
                            + " IN SHARE MODE");
                }
                String snapshot;
                try (ResultSet rs = st.executeQuery("SELECT pg_export_snapshot()")) {
                    rs.next();
                    snapshot = rs.getString(1);
                }
                point = new RestorePointService().create(a, repo, pointName);
                try (Statement sb = b.createStatement()) {
                    sb.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
                    // SET TRANSACTION SNAPSHOT takes no parameter: the server's own id, checked for its form
                    if (!snapshot.matches("[0-9A-F-]+")) {
                        throw new SQLException("unexpected snapshot id " + snapshot);
                    }
                    sb.execute("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
                }
                a.commit();
            } catch (SQLException e) {
                a.rollback();
                throw e;
            }
            long lockMillis = (System.nanoTime() - t0) / 1_000_000;
            long t1 = System.nanoTime();
            List<Table> digested = new ArrayList<>();
            TableDigest.pinSettings(b);
            for (Table t : tables) {
                TableDigest.Digest d = TableDigest.of(b, t.schema(), t.name());
                digested.add(new Table(t.schema(), t.name(), d.rows(), d.value()));
            }
            b.rollback();
            return new Captured(point, List.copyOf(digested), lockMillis, (System.nanoTime() - t1) / 1_000_000);
        } catch (SQLException e) {
            if ("55P03".equals(e.getSQLState())) {
                throw ChronoException.failed("could not lock the critical tables within " + lockTimeout.toSeconds()
                                + " s to set the drill's restore point: a long transaction writes to them",
                        "run the drill when that transaction has ended");
            }
            throw ChronoException.failed("cannot set the drill's restore point: " + e.getMessage(),
                    "the drill's role needs LOCK (UPDATE) on the critical tables, and pg_create_restore_point and pg_switch_wal "
                            + "(a superuser, or GRANT EXECUTE on them)", e);
        }
    }
}
