package dev.chronodr.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.chronodr.repo.BackupManifest;
import dev.chronodr.restore.Verification;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * The drill's checks of a restored copy end when the server keeps them waiting: a table
 * another session holds (the server's statement_timeout), or a backend that no longer
 * answers at all (this side's silence bound), each named in the step's message.
 */
@PostgresTest
class CheckSessionTest {
    private static final String DB = "check_session_db";
    private static final Duration TWO_SECONDS = Duration.ofSeconds(2);

    private static void items(PgCluster pg) {
        pg.execute("postgres", "DROP DATABASE IF EXISTS " + DB + " WITH (FORCE)");
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 100)");
    }


    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void aTableHeldByAnotherSessionEndsTheCountAtTheStatementTimeout(PgCluster pg) throws Exception {
        items(pg);
        List<BackupManifest.TableEntry> tables = List.of(new BackupManifest.TableEntry("public", "items", 100L));
        try (Connection holder = pg.connect(DB)) {
            holder.setAutoCommit(false);
            try (Statement st = holder.createStatement()) {
                st.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE");
            }
            long t0 = System.nanoTime();
            SQLException e = assertThrows(SQLException.class, () -> {
                try (Connection c = CheckSession.open(pg.connection(DB), TWO_SECONDS)) {
                    Verification.run(c, tables);
                }
            });
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
            assertTrue(seconds < 15, "ended at the timeout, not later: " + seconds + " s");
            String why = CheckSession.explain(e, TWO_SECONDS);
            assertTrue(why.contains("statement timeout") && why.endsWith("(--statement-timeout 2.0 s)"), why);
            holder.rollback();
        }
        // Unheld, the same session counts: the bound costs nothing.
        try (Connection c = CheckSession.open(pg.connection(DB), TWO_SECONDS)) {
            assertTrue(Verification.run(c, tables).tables().stream().allMatch(x -> x.ok()));
        }
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void aBackendThatStopsAnsweringEndsTheCheckAfterTheSilence(PgCluster pg) throws Exception {
        assumeTrue(pg.isLocal(), "stops a backend of a cluster on this machine");
        items(pg);
        try (Connection c = CheckSession.open(pg.connection(DB), TWO_SECONDS)) {
            long pid;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                pid = rs.getLong(1);
            }
            signal("STOP", pid); // a stopped backend enforces no statement_timeout
            try {
                long t0 = System.nanoTime();
                SQLException e = assertThrows(SQLException.class, () -> {
                    try (Statement st = c.createStatement()) {
                        st.executeQuery("SELECT count(*) FROM items");
                    }
                });
                long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
                assertTrue(seconds >= 3 && seconds < 20, "the silence bound is the timeout and as much again (4 s): " + seconds + " s");
                assertEquals("the server sent nothing for 4.0 s (hung; --statement-timeout 2.0 s bounds each check)",
                        CheckSession.explain(e, TWO_SECONDS));
            } finally {
                signal("CONT", pid);
            }
        }
    }

    @Test
    void zeroMeansNoBoundAndTheMarginStopsAtThirtySeconds(PgCluster pg) throws Exception {
        items(pg);
        try (Connection c = CheckSession.open(pg.connection(DB), Duration.ZERO); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW statement_timeout")) {
            rs.next();
            assertEquals("0", rs.getString(1));
            assertEquals(0, c.getNetworkTimeout());
        }
        assertEquals(Duration.ofSeconds(330), dev.chronodr.verify.Timeouts.silence(Duration.ofMinutes(5)));
        assertEquals(Duration.ofSeconds(20), dev.chronodr.verify.Timeouts.silence(Duration.ofSeconds(10)));
    }

    private static void signal(String sig, long pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).redirectErrorStream(true).start();
        assertEquals(0, p.waitFor(), new String(p.getInputStream().readAllBytes()));
    }
}
