package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import org.junit.jupiter.api.Test;

import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** The swap on its own: the renames, the sessions it ends, and the rollback statements the result prints, run as printed. */
@PostgresTest
class DatabaseSwapTest {
    private final PgCluster pg;

    DatabaseSwapTest(PgCluster pg) {
        this.pg = pg;
    }

    private void database(String name, String content) {
        pg.createDatabase(name);
        pg.execute(name, "CREATE TABLE t (v text); INSERT INTO t VALUES ('" + content + "')");
    }

    private Object content(String db) {
        return pg.scalar(db, "SELECT v FROM t");
    }

    private boolean exists(String db) {
        return !pg.query("postgres", "SELECT 1 FROM pg_database WHERE datname = '" + db + "'").isEmpty();
    }

    @Test
    void swapsEndsTheOpenSessionAndThePrintedRollbackUndoesIt() throws Exception {
        database("swp", "old");
        database("swp_restore_x", "new");
        pg.execute("postgres", "COMMENT ON DATABASE swp IS 'the live one'");
        try (Connection open = pg.connect("swp"); Connection admin = pg.connect("postgres")) {
            boolean hadLive = new DatabaseSwap(() -> { }).swap(admin, "swp", "swp_restore_x", "swp_pre_restore_x",
                    DatabaseProperties.capture(admin, "swp"));
            assertTrue(hadLive);
            assertThrows(SQLException.class, () -> {
                try (Statement st = open.createStatement()) {
                    st.execute("SELECT 1");
                }
            }, "the session on the old database was ended");
        }
        assertEquals("new", content("swp"));
        assertEquals("old", content("swp_pre_restore_x"));
        assertFalse(exists("swp_restore_x"));
        assertEquals("the live one", pg.scalar("postgres", "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'swp'"));

        try (Connection admin = pg.connect("postgres"); Statement st = admin.createStatement()) {
            for (String sql : DatabaseSwap.rollback("swp", "swp_pre_restore_x", "swp_restored_x")) {
                st.execute(sql);
            }
        }
        assertEquals("old", content("swp"), "rolled back: the previous database is live again");
        assertEquals("new", content("swp_restored_x"), "the restored copy is kept");
        assertTrue(pg.query("postgres", "SELECT datallowconn FROM pg_database WHERE datname IN ('swp', 'swp_restored_x')").stream()
                .allMatch(r -> Boolean.TRUE.equals(r.get("datallowconn"))), "both accept connections again");
    }

    @Test
    void withoutALiveDatabaseTheCopyTakesTheName() throws Exception {
        database("swq_restore_x", "new");
        pg.execute("postgres", "COMMENT ON DATABASE swq_restore_x IS " + RestoreService.literal(StagingDatabases.marker()));
        try (Connection admin = pg.connect("postgres")) {
            assertFalse(new DatabaseSwap(() -> { }).swap(admin, "swq", "swq_restore_x", "swq_pre_restore_x", null));
        }
        assertEquals("new", content("swq"));
        assertFalse(exists("swq_pre_restore_x"));
        assertEquals(null, pg.scalar("postgres", "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'swq'"),
                "the staging marker went with the rename");
    }

    @Test
    void aFailureBetweenTheRenamesChangesNothing() throws Exception {
        database("swr", "old");
        database("swr_restore_x", "new");
        try (Connection admin = pg.connect("postgres")) {
            DatabaseSwap failing = new DatabaseSwap(() -> {
                throw new IllegalStateException("injected");
            });
            assertThrows(IllegalStateException.class, () -> failing.swap(admin, "swr", "swr_restore_x", "swr_pre_restore_x",
                    DatabaseProperties.capture(admin, "swr")));
            assertTrue(admin.getAutoCommit(), "the maintenance connection is back in autocommit");
        }
        assertEquals("old", content("swr"));
        assertEquals("new", content("swr_restore_x"));
        assertFalse(exists("swr_pre_restore_x"));
    }
}
