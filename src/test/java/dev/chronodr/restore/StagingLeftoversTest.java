package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.pg.Identifiers;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** A staging database left by a killed replace is dropped by the next restore; a user's lookalike never is. */
@PostgresTest
class StagingLeftoversTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    StagingLeftoversTest(PgCluster pg) {
        this.pg = pg;
    }

    private boolean exists(String db) {
        return !pg.query("postgres", "SELECT 1 FROM pg_database WHERE datname = '" + db.replace("'", "''") + "'").isEmpty();
    }

    /** The pid of a process that has ended. */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    @Test
    void aMarkedLeftoverIsReportedAndDroppedAnUnmarkedLookalikeIsNotTouched() throws Exception {
        String db = pg.createDatabase("leftover db 日本");
        pg.execute(db, "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)");
        Path repo = dir.resolve("repo");
        assertEquals(0, CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString()).exitCode());

        String leftover = RestoreService.derivedName(db, "_restore_20240101_120000");
        String lookalike = RestoreService.derivedName(db, "_restore_20240101_120001");
        String otherHost = RestoreService.derivedName(db, "_restore_20240101_120002");
        pg.execute("postgres", "CREATE DATABASE " + Identifiers.quote(leftover));
        pg.execute("postgres", "COMMENT ON DATABASE " + Identifiers.quote(leftover) + " IS " + RestoreService.literal(
                StagingDatabases.MARKER + " [host=" + UnpackDir.host() + " pid=" + deadPid() + " token=0f0e-aa]"));
        pg.execute("postgres", "CREATE DATABASE " + Identifiers.quote(lookalike));
        pg.execute(lookalike, "CREATE TABLE precious (id int); INSERT INTO precious VALUES (42)");
        pg.execute("postgres", "CREATE DATABASE " + Identifiers.quote(otherHost));
        pg.execute("postgres", "COMMENT ON DATABASE " + Identifiers.quote(otherHost) + " IS " + RestoreService.literal(
                StagingDatabases.MARKER + " [host=elsewhere pid=1 token=0f0e-bb]"));

        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("dropped " + leftover), r.out());
        assertTrue(r.out().contains(otherHost + " was left by a restore on host elsewhere"), r.out());
        assertTrue(r.out().contains(lookalike + " is named like a staging database but carries no chrono-dr marker; left alone"), r.out());
        assertTrue(!exists(leftover), "the marked leftover is gone");
        assertTrue(exists(lookalike) && exists(otherHost));
        assertEquals(42, pg.scalar(lookalike, "SELECT id FROM precious"), "the user's database is untouched");
        assertEquals(2L, ((Number) pg.scalar(db, "SELECT count(*) FROM t")).longValue());
    }

    @Test
    void theStagingDatabaseCarriesTheMarkerUntilTheSwap() {
        String db = pg.createDatabase("leftover_marked");
        pg.execute(db, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
        pg.execute("postgres", "COMMENT ON DATABASE leftover_marked IS 'mine'");
        assertEquals(0, CliRun.run(pg.env(db), dir, "backup", "--repo", dir.resolve("repo").toString()).exitCode());
        var runner = new dev.chronodr.process.ProcessRunner(pg.env(db));
        RestoreService s = new RestoreService(runner, new dev.chronodr.pg.ToolLocator(runner, pg.env(db)), dev.chronodr.core.Progress.NONE, "test");
        java.util.List<Object> seen = new java.util.ArrayList<>();
        s.betweenRenames(() -> seen.add(pg.scalar("postgres",
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname LIKE 'leftover\\_marked\\_restore\\_%'")));
        var target = new dev.chronodr.config.TargetResolver(new dev.chronodr.core.Environment(pg.env(db), dir)).resolve(
                new dev.chronodr.config.ConnectionRequest(null, null, null, null, null, null, null, null, null, null, null, null,
                        dir.resolve("repo").toString(), false));
        RestoreRequest req = new RestoreRequest(null, null, null, 1, true, false);
        RestoreResult result = s.restore(target, req, s.resolve(target, req));
        assertTrue(result.succeeded());
        assertTrue(String.valueOf(seen.get(0)).startsWith(StagingDatabases.MARKER), String.valueOf(seen));
        assertEquals("mine", pg.scalar("postgres", "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'leftover_marked'"));
    }

    @Test
    void aCopyLeftForInspectionIsNotALeftover() {
        String db = pg.createDatabase("leftover_inspect");
        pg.execute(db, """
                CREATE TABLE parent (id int PRIMARY KEY);
                CREATE TABLE loose (id int PRIMARY KEY, parent_id int);
                INSERT INTO parent VALUES (1);
                INSERT INTO loose VALUES (1, 1), (2, 99);
                ALTER TABLE loose ADD CONSTRAINT loose_fk FOREIGN KEY (parent_id) REFERENCES parent NOT VALID;
                """);
        Path repo = dir.resolve("repo-inspect");
        assertEquals(0, CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString()).exitCode());
        CliRun first = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes");
        assertEquals(1, first.exitCode(), first.toString());
        String kept = (String) pg.scalar("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'leftover\\_inspect\\_restore\\_%'");
        assertTrue(kept != null, "the verified-and-failed copy is left for inspection");
        String comment = (String) pg.scalar("postgres", "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '" + kept + "'");
        assertTrue(!comment.startsWith(StagingDatabases.MARKER) && comment.contains("left by chrono-dr for inspection"), comment);
        // (This JVM's pid is alive, so the next restore would leave even a marked copy; the marker is what a later process goes by.)
    }

    @Test
    void afterKillNineOfChronoDrMidReplaceTheNextRestoreDropsTheStagingDatabase() throws Exception {
        String db = pg.createDatabase("leftover_kill");
        pg.execute(db, "CREATE TABLE keep (id int); INSERT INTO keep VALUES (1)");
        // A restore that takes its time inside the staging database: the window for kill -9.
        Path slow = dir.resolve("slow.sql");
        java.nio.file.Files.writeString(slow, "CREATE TABLE t (id int);\nINSERT INTO t VALUES (7);\nSELECT pg_sleep(20);\n");
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
                "dev.chronodr.Main", "restore", "--backup-file", slow.toString(), "--yes"));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(new java.io.File("/dev/null"));
        pb.environment().clear();
        pb.environment().putAll(pg.env(db));
        Process chrono = pb.start();
        String staging = null;
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (staging == null && chrono.isAlive() && System.nanoTime() < deadline) {
            staging = (String) pg.scalar("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'leftover\\_kill\\_restore\\_%' "
                    + "AND shobj_description(oid, 'pg_database') LIKE 'chrono-dr staging%'");
            Thread.sleep(50);
        }
        assertTrue(staging != null, "the restore never created its staging database");
        chrono.destroyForcibly().waitFor();

        CliRun next = CliRun.run(pg.env(db), dir, "restore", "--backup-file", slow.toString().replace("slow.sql", "fast.sql"), "--yes");
        assertEquals(64, next.exitCode(), "no such file: nothing but the check ran");
        assertTrue(exists(staging), "a refused restore does not clean up");
        java.nio.file.Files.writeString(dir.resolve("fast.sql"), "CREATE TABLE t (id int);\nINSERT INTO t VALUES (8);\n");
        CliRun again = CliRun.run(pg.env(db), dir, "restore", "--backup-file", dir.resolve("fast.sql").toString(), "--yes");
        assertEquals(0, again.exitCode(), again.toString());
        assertTrue(again.out().contains("dropped " + staging + ": the staging database of an interrupted restore"), again.out());
        assertTrue(!exists(staging));
        assertEquals(8, pg.scalar(db, "SELECT id FROM t"));
    }
}
