package dev.chronodr.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * A backup held mid-dump (pg_dump waits for a lock another session holds), then a
 * second backup of the same database, then kill -9 of the first: nothing that looks
 * like a backup is left, and the next backup succeeds and clears the leftovers.
 */
@PostgresTest
class InterruptedBackupTest {
    @TempDir
    Path dir;

    @Test
    void killedBackupLeavesNothingUsableAndDoesNotBlockTheNext(PgCluster pg) throws Exception {
        String db = pg.createDatabase("interrupted");
        pg.execute(db, "CREATE TABLE big (id int, body text); INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;"
                + "CREATE TABLE blocker (id int)");
        Path repo = dir.resolve("repo");
        Map<String, String> env = pg.env(db);
        Process first;
        try (Connection holder = pg.connect(db); Statement st = holder.createStatement()) {
            holder.setAutoCommit(false);
            st.execute("LOCK TABLE blocker IN ACCESS EXCLUSIVE MODE");
            first = startJvm(env, "backup", "--repo", repo.toString());
            Path partial = repo.resolve(".partial").resolve(db);
            waitFor(() -> Files.isDirectory(partial) && hasChild(partial), 30);
            waitFor(() -> ((Number) pg.scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = '" + db + "'")).intValue() > 0, 30);

            CliRun second = CliRun.run(env, dir, "backup", "--repo", repo.toString());
            assertEquals(1, second.exitCode(), second.toString());
            assertTrue(second.err().contains("another backup of database interrupted is running (pid " + first.pid()), second.toString());

            first.destroyForcibly();
            assertTrue(first.waitFor(30, TimeUnit.SECONDS));
            holder.rollback();
        }
        assertTrue(hasChild(repo.resolve(".partial").resolve(db)), "the killed run left its staging directory");
        CliRun list = CliRun.run(env, dir, "list", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, list.json().get("backups").size(), "nothing that looks like a backup");

        CliRun next = CliRun.run(env, dir, "backup", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, next.exitCode(), next.toString());
        assertEquals(1, next.json().get("leftovers_removed").asInt(), next.toString());
        assertFalse(hasChild(repo.resolve(".partial").resolve(db)), "leftovers cleaned");
        assertEquals(1, CliRun.run(env, dir, "list", "--repo", repo.toString(), "--format", "json").json().get("backups").size());
    }

    @Test
    void unreadableTableRefusedBeforeAnythingStarts(PgCluster pg) throws Exception {
        String db = pg.createDatabase("fails");
        pg.execute(db, """
                CREATE TABLE open_t (id int); CREATE TABLE secret_t (id int);
                DROP ROLE IF EXISTS limited; CREATE ROLE limited LOGIN PASSWORD 'limited-pw';
                GRANT SELECT ON open_t TO limited;
                """);
        Path repo = dir.resolve("repo-fail");
        Map<String, String> env = new java.util.HashMap<>(pg.env(db));
        env.put("PGUSER", "limited");
        env.put("PGPASSWORD", "limited-pw");
        CliRun r = CliRun.run(env, dir, "backup", "--repo", repo.toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("role limited cannot read public.secret_t; nothing was backed up"), r.err());
        assertFalse(Files.exists(repo), "nothing was created");
        CliRun list = CliRun.run(env, dir, "list", "--repo", repo.toString());
        assertEquals(1, list.exitCode(), "a repository that does not exist is no empty one: " + list);
        assertTrue(list.err().contains("does not exist"), list.toString());
    }

    @Test
    void dumpFailingMidStreamLeavesNothing(PgCluster pg) throws Exception {
        String db = pg.createDatabase("midstream");
        pg.execute(db, "CREATE TABLE t (id int)");
        Path repo = dir.resolve("repo-midstream");
        // A stand-in `docker exec` whose pg_dump writes part of an archive, then dies.
        Path fake = dir.resolve("fake-docker");
        Files.writeString(fake, "#!/bin/bash\nhead -c 300000 /dev/urandom\necho 'pg_dump: error: connection to server was lost' >&2\nexit 1\n");
        Files.setPosixFilePermissions(fake, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Map<String, String> env = new java.util.HashMap<>(pg.env(db));
        env.put("CHRONO_DR_DOCKER", fake.toString());
        CliRun r = CliRun.run(env, dir, "backup", "--repo", repo.toString(), "--exec", "docker", "--container", "db");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("connection to server was lost"), r.err());
        assertFalse(hasChild(repo.resolve(".partial").resolve(db)), "the failed run removed its staging directory");
        assertEquals(0, CliRun.run(env, dir, "list", "--repo", repo.toString(), "--format", "json").json().get("backups").size());
    }

    private static boolean hasChild(Path p) {
        try (var s = Files.list(p)) {
            return s.findAny().isPresent();
        } catch (Exception e) {
            return false;
        }
    }

    private static Process startJvm(Map<String, String> env, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.chronodr.Main"));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(new File("/dev/null"));
        pb.environment().clear();
        pb.environment().putAll(env);
        return pb.start();
    }

    private static void waitFor(java.util.function.BooleanSupplier condition, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met in " + seconds + " s");
            }
            Thread.sleep(100);
        }
    }
}
