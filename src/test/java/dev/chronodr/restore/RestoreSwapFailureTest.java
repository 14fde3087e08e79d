package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.config.ConnectionRequest;
import dev.chronodr.config.Target;
import dev.chronodr.config.TargetResolver;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Progress;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** The swap's failure points: an error between the renames, and kill -9 of the server mid-swap and mid-restore. */
@PostgresTest
class RestoreSwapFailureTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    RestoreSwapFailureTest(PgCluster pg) {
        this.pg = pg;
    }

    private RestoreService service(String db) {
        ProcessRunner runner = new ProcessRunner(pg.env(db));
        return new RestoreService(runner, new ToolLocator(runner, pg.env(db)), Progress.NONE, "test");
    }

    private Target target(String db) {
        return new TargetResolver(new Environment(pg.env(db), dir)).resolve(new ConnectionRequest(
                null, null, null, null, null, null, null, null, null, null, null, null, dir.resolve("repo").toString(), false));
    }

    /** Backs up, damages, and returns the damaged state: what must survive any failed swap. */
    private Map<String, Object> prepare(String db) {
        RestoreCommandTest.demo(pg, db);
        CliRun r = CliRun.run(pg.env(db), dir, "backup", "--repo", dir.resolve("repo").toString());
        assertEquals(0, r.exitCode(), r.toString());
        RestoreCommandTest.damage(pg, db);
        return RestoreCommandTest.fingerprint(pg, db);
    }

    private RestoreRequest latest() {
        return new RestoreRequest(null, null, null, 1, true, false);
    }

    @Test
    void failureBetweenTheRenamesLeavesTheLiveDatabaseUnderItsName() {
        String db = "swapfail";
        Map<String, Object> live = prepare(db);
        RestoreService s = service(db);
        s.betweenRenames(() -> {
            throw new IllegalStateException("injected failure between the renames");
        });
        Target t = target(db);
        RestoreSource src = s.resolve(t, latest());
        assertThrows(IllegalStateException.class, () -> s.restore(t, latest(), src));
        assertEquals(live, RestoreCommandTest.fingerprint(pg, db));
        assertEquals(0L, count("SELECT count(*) FROM pg_database WHERE datname LIKE 'swapfail_pre_restore_%'"));
        assertEquals(1L, count("SELECT count(*) FROM pg_database WHERE datname LIKE 'swapfail_restore_%'"), "the verified copy stays for a retry");
    }

    @Test
    void killNineOfTheServerInTheMiddleOfTheSwap() {
        String db = "swapkill";
        Map<String, Object> live = prepare(db);
        RestoreService s = service(db);
        s.betweenRenames(pg::kill9);
        Target t = target(db);
        RestoreSource src = s.resolve(t, latest());
        assertThrows(RuntimeException.class, () -> s.restore(t, latest(), src));
        pg.startAfterCrash();
        assertEquals(live, RestoreCommandTest.fingerprint(pg, db), "the first rename rolled back with the crash");
        assertEquals(0L, count("SELECT count(*) FROM pg_database WHERE datname LIKE 'swapkill_pre_restore_%'"));
        assertTrue(pg.query("postgres", "SELECT datallowconn FROM pg_database WHERE datname = 'swapkill'").get(0).get("datallowconn").equals(true));
    }

    @Test
    void killNineOfTheServerWhileRestoringIntoStaging() throws Exception {
        String db = "restkill";
        Map<String, Object> live = prepare(db);
        RestoreService s = service(db);
        Target t = target(db);
        RestoreSource src = s.resolve(t, latest());
        CompletableFuture<RestoreResult> run = CompletableFuture.supplyAsync(() -> s.restore(t, latest(), src));
        long deadline = System.currentTimeMillis() + 20_000;
        while (count("SELECT count(*) FROM pg_database WHERE datname LIKE 'restkill_restore_%'") == 0 && !run.isDone()
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        pg.kill9();
        try {
            run.join();
        } catch (RuntimeException expected) {
            // the restore fails with the server gone; what matters is the database below
        }
        pg.startAfterCrash();
        Map<String, Object> after = RestoreCommandTest.fingerprint(pg, db);
        // Either the swap had not happened (the damaged live database) or it had completed (the backup's state).
        assertTrue(after.equals(live) || run.isDone() && !run.isCompletedExceptionally(), "live database changed without a completed restore");
    }

    private long count(String sql) {
        return ((Number) pg.scalar("postgres", sql)).longValue();
    }
}
