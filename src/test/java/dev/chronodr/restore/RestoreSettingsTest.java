package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * pg_restore's session settings (PGOPTIONS) exist in the sessions that fill the new database and
 * nowhere else; a killed restore with synchronous_commit off leaves the live database as it was;
 * a role that may not set one still restores, with a note.
 */
@PostgresTest
class RestoreSettingsTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    RestoreSettingsTest(PgCluster pg) {
        this.pg = pg;
        // The test clusters run with synchronous_commit off; the restore only turns off what is on.
        pg.execute("postgres", "ALTER SYSTEM SET synchronous_commit = on; ALTER SYSTEM SET wal_compression = off");
        pg.execute("postgres", "SELECT pg_reload_conf()");
    }

    /**
     * A table whose CHECK reports the settings of the session that loads it in its
     * application_name (seen by everyone in pg_stat_activity) and takes 0.25 s a row there: the
     * window in which the restore is watched. In the database it was made in it does nothing.
     */
    private void createWatchedTable(String db, String owner) {
        String setRole = owner == null ? "" : "SET ROLE " + owner + ";\n";
        pg.execute(db, setRole + """
                CREATE FUNCTION report_settings(int) RETURNS boolean LANGUAGE plpgsql AS $$
                BEGIN
                  IF current_database() <> '%s' THEN
                    PERFORM set_config('application_name', 'restore-probe sc=' || current_setting('synchronous_commit')
                        || ' mwm=' || current_setting('maintenance_work_mem'), false);
                    PERFORM pg_sleep(0.25);
                  END IF;
                  RETURN true;
                END $$;
                CREATE TABLE t (id int PRIMARY KEY, v text, CHECK (report_settings(id)));
                INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 24) g;
                CREATE INDEX t_v ON t (v);
                """.formatted(db));
    }

    /** The application_name of a session loading the database once its CHECK has run; null if the restore ended first (or 120 s). */
    private String probeIn(String dbPattern, java.util.function.BooleanSupplier running) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && running.getAsBoolean()) {
            Object seen = pg.scalar("postgres", "SELECT application_name FROM pg_stat_activity WHERE datname LIKE '" + dbPattern
                    + "' AND application_name LIKE 'restore-probe%' LIMIT 1");
            if (seen != null) {
                return (String) seen;
            }
            Thread.sleep(50);
        }
        return null;
    }

    private String expectedMaintenanceWorkMem(int jobs) {
        long ecs = ((Number) pg.scalar("postgres", "SELECT pg_size_bytes(current_setting('effective_cache_size'))")).longValue();
        long mb = RestoreSettings.maintenanceWorkMem(ecs, jobs) / (1024 * 1024);
        return mb % 1024 == 0 ? mb / 1024 + "GB" : mb + "MB"; // as SHOW prints it
    }

    private Object show(String db, String setting) {
        return pg.scalar(db, "SELECT current_setting('" + setting + "')");
    }

    @Test
    void theRaisedSettingsReachOnlyTheSessionsThatFillTheNewDatabase() throws Exception {
        String live = pg.createDatabase("rs_live");
        createWatchedTable(live, null);
        Path repo = dir.resolve("repo");
        assertEquals(0, CliRun.run(pg.env(live), dir, "backup", "--repo", repo.toString()).exitCode());
        String mwmDefault = (String) show(live, "maintenance_work_mem");
        String mwm = expectedMaintenanceWorkMem(2);
        assertFalse(mwm.equals(mwmDefault), "the budget must differ from the default for this test to mean anything");

        CompletableFuture<CliRun> restore = CompletableFuture.supplyAsync(() -> CliRun.run(pg.env(live), dir,
                "restore", "--repo", repo.toString(), "--latest", "--target-db", "rs_copy", "-j", "2"));
        try {
            String probe = probeIn("rs\\_copy", () -> !restore.isDone());
            assertNotNull(probe, "the restore never loaded the table");
            // pg_restore's session, while it loads: the raised settings.
            assertEquals("restore-probe sc=off mwm=" + mwm, probe);
            // At the same moment, a session on the live database, and one of ours on the new one: the server's defaults.
            assertEquals("on", show(live, "synchronous_commit"));
            assertEquals(mwmDefault, show(live, "maintenance_work_mem"));
            assertEquals("on", show("rs_copy", "synchronous_commit"));
            assertEquals(mwmDefault, show("rs_copy", "maintenance_work_mem"));
        } finally {
            CliRun r = restore.get(180, TimeUnit.SECONDS);
            assertEquals(0, r.exitCode(), r.toString());
            assertTrue(r.out().contains("note: restore sessions only: synchronous_commit=off, maintenance_work_mem="), r.out());
            assertFalse(r.out().contains("could not force"), r.out());
        }
        assertEquals(24L, ((Number) pg.scalar("rs_copy", "SELECT count(*) FROM t")).longValue());
        // Nothing was written into the configuration: no ALTER DATABASE/ROLE ... SET, no ALTER SYSTEM.
        assertEquals(0L, ((Number) pg.scalar("postgres", "SELECT count(*) FROM pg_db_role_setting")).longValue());
        assertEquals("on", show("postgres", "synchronous_commit"));
    }

    @Test
    void aRestoreKilledMidLoadLeavesTheLiveDatabaseAndTheNextOneCleansUp() throws Exception {
        String live = pg.createDatabase("rs_kill");
        createWatchedTable(live, null);
        Path repo = dir.resolve("repo-kill");
        assertEquals(0, CliRun.run(pg.env(live), dir, "backup", "--repo", repo.toString()).exitCode());
        pg.execute(live, "INSERT INTO t VALUES (100, 'written after the backup')");

        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.chronodr.Main",
                "restore", "--repo", repo.toString(), "--latest", "--yes", "-j", "2"));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(new java.io.File("/dev/null"));
        pb.environment().clear();
        pb.environment().putAll(pg.env(live));
        Process chrono = pb.start();
        List<ProcessHandle> children = new ArrayList<>();
        try {
            String probe = probeIn("rs\\_kill\\_restore\\_%", chrono::isAlive);
            assertNotNull(probe, "the restore never loaded the staging database");
            assertTrue(probe.contains("sc=off"), probe);
            chrono.descendants().forEach(children::add);
        } finally {
            // kill -9 of chrono-dr and of its pg_restore, mid-COPY with synchronous_commit off.
            chrono.destroyForcibly().waitFor();
            children.forEach(ProcessHandle::destroyForcibly);
        }
        String staging = (String) pg.scalar("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'rs\\_kill\\_restore\\_%'");
        assertNotNull(staging, "the killed restore leaves its staging database");
        assertEquals(25L, ((Number) pg.scalar(live, "SELECT count(*) FROM t")).longValue(), "the live database is as it was");
        assertEquals("written after the backup", pg.scalar(live, "SELECT v FROM t WHERE id = 100"));

        CliRun next = CliRun.run(pg.env(live), dir, "restore", "--repo", repo.toString(), "--latest", "--yes");
        assertEquals(0, next.exitCode(), next.toString());
        assertTrue(next.out().contains("dropped " + staging + ": the staging database of an interrupted restore"), next.out());
        assertEquals(null, pg.scalar("postgres", "SELECT datname FROM pg_database WHERE datname = '" + staging + "'"));
        assertEquals(24L, ((Number) pg.scalar(live, "SELECT count(*) FROM t")).longValue(), "the backup's rows, swapped in");
    }

    @Test
    void aRoleThatMayNotSetOneStillRestoresWithANote() throws Exception {
        pg.execute("postgres", "CREATE ROLE rs_owner LOGIN CREATEDB PASSWORD 'rs-owner-pw'");
        String live = pg.createDatabase("rs_owned");
        pg.execute("postgres", "ALTER DATABASE rs_owned OWNER TO rs_owner");
        createWatchedTable(live, "rs_owner");
        Path repo = dir.resolve("repo-owned");
        assertEquals(0, CliRun.run(pg.env(live), dir, "backup", "--repo", repo.toString()).exitCode());

        Map<String, String> env = new LinkedHashMap<>(pg.env(live));
        env.put("PGUSER", "rs_owner");
        env.put("PGPASSWORD", "rs-owner-pw");
        CompletableFuture<CliRun> restore = CompletableFuture.supplyAsync(() -> CliRun.run(env, dir,
                "restore", "--repo", repo.toString(), "--latest", "--target-db", "rs_owned_copy", "--yes"));
        String probe;
        try {
            probe = probeIn("rs\\_owned\\_copy", () -> !restore.isDone());
        } finally {
            CliRun r = restore.get(180, TimeUnit.SECONDS);
            assertEquals(0, r.exitCode(), r.toString());
            // wal_compression is superuser-only: left out, said, and the rest still raised.
            assertTrue(r.out().contains("note: not raised: wal_compression ("), r.out());
            assertTrue(r.out().contains("GRANT SET ON PARAMETER wal_compression"), r.out());
            assertTrue(r.out().contains("note: restore sessions only: synchronous_commit=off, maintenance_work_mem="), r.out());
            assertFalse(r.out().contains("could not force"), r.out());
        }
        assertEquals("restore-probe sc=off mwm=" + expectedMaintenanceWorkMem(1), probe);
        assertEquals(24L, ((Number) pg.scalar("rs_owned_copy", "SELECT count(*) FROM t")).longValue());
        assertEquals("rs_owner", pg.scalar("postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'rs_owned_copy'"));
    }
}
