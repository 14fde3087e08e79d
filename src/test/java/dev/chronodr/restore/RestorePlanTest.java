package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

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

/** The plan a restore makes before asking: mode, names, the question, the checks; and that making it changes nothing. */
@PostgresTest
class RestorePlanTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    RestorePlanTest(PgCluster pg) {
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

    private String backedUp(String name) {
        String db = pg.createDatabase(name);
        pg.execute(db, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)");
        CliRun r = CliRun.run(pg.env(db), dir, "backup", "--repo", dir.resolve("repo").toString());
        assertEquals(0, r.exitCode(), r.toString());
        return db;
    }

    private List<Map<String, Object>> databases() {
        return pg.query("postgres", "SELECT datname, datallowconn, shobj_description(oid, 'pg_database') AS comment FROM pg_database ORDER BY 1");
    }

    @Test
    void eachModeIsPlannedWithItsNamesAndQuestionAndNothingChanges() {
        String db = backedUp("plan_modes");
        RestoreService s = service(db);
        Target t = target(db);
        List<Map<String, Object>> before = databases();

        RestorePlan replace = s.plan(t, new RestoreRequest(null, null, null, 1, true, false));
        assertEquals(RestoreMode.REPLACE, replace.mode());
        assertEquals(db, replace.database());
        assertEquals(db, replace.restoredInto());
        assertTrue(replace.stamp().matches("\\d{8}_\\d{6}"), replace.stamp());
        assertEquals(db + "_restore_" + replace.stamp(), replace.stagingDatabase());
        assertEquals(db + "_pre_restore_" + replace.stamp(), replace.previousDatabase());
        assertTrue(replace.needsConfirmation());
        assertEquals("replace database plan_modes with backup " + replace.source().id()
                + " (the current one is kept as plan_modes_pre_restore_...)", replace.confirmationAction());
        assertTrue(replace.checks().contains("the staging and kept names are free"), replace.checks().toString());
        assertTrue(replace.checks().contains("a backup without tables does not replace a database that has some"), replace.checks().toString());
        assertTrue(replace.checks().contains("after the restore: row counts against the manifest, and no foreign-key orphans"));

        RestorePlan inPlace = s.plan(t, new RestoreRequest(null, null, null, 1, false, true));
        assertEquals(RestoreMode.IN_PLACE, inPlace.mode());
        assertEquals(db, inPlace.restoredInto());
        assertNull(inPlace.stagingDatabase());
        assertNull(inPlace.previousDatabase());
        assertTrue(inPlace.needsConfirmation());
        assertEquals("DROP database plan_modes and restore " + inPlace.source().id() + " in its place (a safety backup is taken first)",
                inPlace.confirmationAction());
        assertFalse(inPlace.checks().stream().anyMatch(c -> c.startsWith("after the restore")), "--no-verify: " + inPlace.checks());

        RestorePlan beside = s.plan(t, new RestoreRequest(null, null, "plan_modes_copy", 1, true, false));
        assertEquals(RestoreMode.NEW_DATABASE, beside.mode());
        assertEquals("plan_modes_copy", beside.restoredInto());
        assertNull(beside.stagingDatabase());
        assertFalse(beside.needsConfirmation());
        assertTrue(beside.checks().contains("database plan_modes_copy does not exist yet"), beside.checks().toString());
        assertFalse(beside.checks().contains("a backup without tables does not replace a database that has some"));

        assertEquals(before, databases(), "planning created, renamed or marked nothing");
        assertEquals(2L, ((Number) pg.scalar(db, "SELECT count(*) FROM t")).longValue());
    }

    @Test
    void theReplaceRunsUnderThePlannedNames() {
        String db = backedUp("plan_names");
        RestoreService s = service(db);
        Target t = target(db);
        RestorePlan plan = s.plan(t, new RestoreRequest(null, null, null, 1, true, false));
        pg.execute(db, "DELETE FROM t");
        RestoreResult r = s.execute(t, plan);
        assertTrue(r.succeeded(), String.valueOf(r.failure()));
        assertEquals("replace", r.mode());
        assertEquals(plan.stagingDatabase(), r.stagingDatabase());
        assertEquals(plan.previousDatabase(), r.previousDatabase());
        assertEquals(0L, ((Number) pg.scalar(plan.previousDatabase(), "SELECT count(*) FROM t")).longValue(), "the damaged one is kept");
        assertEquals(2L, ((Number) pg.scalar(db, "SELECT count(*) FROM t")).longValue());
    }

    @Test
    void longNamesAreShortenedToFitPostgres() {
        String db = backedUp("plan_" + "x".repeat(55));
        RestorePlan plan = service(db).plan(target(db), new RestoreRequest(null, null, null, 1, true, false));
        assertEquals(63, plan.previousDatabase().getBytes(StandardCharsets.UTF_8).length, plan.previousDatabase());
        assertTrue(plan.previousDatabase().endsWith("_pre_restore_" + plan.stamp()));
        assertTrue(plan.stagingDatabase().endsWith("_restore_" + plan.stamp()));
    }

    @Test
    void theCommandAsksWhatThePlanSays() {
        String db = backedUp("plan_ask");
        List<Map<String, Object>> before = databases();
        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", dir.resolve("repo").toString(), "--latest");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("refusing to replace database plan_ask with backup plan_ask_"), r.err());
        assertTrue(r.err().contains(" (the current one is kept as plan_ask_pre_restore_...) without confirmation"), r.err());
        CliRun drop = CliRun.run(pg.env(db), dir, "restore", "--repo", dir.resolve("repo").toString(), "--latest", "--in-place");
        assertEquals(64, drop.exitCode(), drop.toString());
        assertTrue(drop.err().contains("refusing to DROP database plan_ask and restore plan_ask_"), drop.err());
        assertTrue(drop.err().contains(" in its place (a safety backup is taken first) without confirmation"), drop.err());
        assertEquals(before, databases());
    }
}
