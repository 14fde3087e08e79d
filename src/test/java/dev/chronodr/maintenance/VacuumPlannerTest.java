package dev.chronodr.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.testing.CliRun;

/** The planner's rules and the option checks, without a server. */
class VacuumPlannerTest {
    @TempDir
    Path tmp;

    private static TableStats table(long oid, String name, long live, long dead, long xidAge, IndexInfo... indexes) {
        return new TableStats(oid, "public", name, null, live, dead, xidAge, 8192L * oid, 1000, false, 0, 0, List.of(indexes));
    }

    private static IndexInfo index(long oid, String name) {
        return new IndexInfo(oid, "public", name, true, false, false, null);
    }

    private static VacuumRequest request(Double minDead, Long minXid, boolean reindex, boolean blocking, List<String> tables) {
        return new VacuumRequest(tables, true, minDead, minXid, reindex, blocking, false, null, false, 1);
    }

    @Test
    void selectsByDeadShareAtOrOverTheThresholdMostDeadFirst() {
        List<TableStats> all = List.of(
                table(1, "none", 1000, 0, 10),
                table(2, "under", 760, 240, 10),      // 24%
                table(3, "exact", 750, 250, 10),      // 25%
                table(4, "small_high", 10, 90, 10),   // 90%, but few dead
                table(5, "big", 6000, 4000, 10));     // 40%
        List<PlannedTable> plan = VacuumPlanner.select(all, request(25.0, null, false, false, List.of()), false);
        assertEquals(List.of("public.big", "public.exact", "public.small_high"),
                plan.stream().map(p -> p.table().qualified()).toList());
        assertEquals("dead tuples 40.0% (4000 of 10000) >= 25%", plan.get(0).reasons().get(0));
    }

    @Test
    void xidAgeOverTheLimitComesFirstOldestFirstAndEitherThresholdQualifies() {
        List<TableStats> all = List.of(
                table(1, "dead", 100, 900, 10),
                table(2, "old", 1000, 0, 5000),
                table(3, "older", 1000, 0, 9000),
                table(4, "neither", 1000, 1, 10));
        List<PlannedTable> plan = VacuumPlanner.select(all, request(50.0, 1000L, false, false, List.of()), false);
        assertEquals(List.of("public.older", "public.old", "public.dead"), plan.stream().map(p -> p.table().qualified()).toList());
        assertEquals(List.of("transaction ID age 9000 >= 1000"), plan.get(0).reasons());
    }

    @Test
    void statementsQuoteIdentifiersAndRebuildIndexesOneByOneConcurrently() {
        IndexInfo pkey = index(11, "Odd\"Name_pkey");
        IndexInfo invalid = new IndexInfo(12, "public", "by_v", false, false, false, null);
        IndexInfo leftover = new IndexInfo(13, "public", "by_v_ccnew", false, false, false, "by_v");
        IndexInfo exclusion = new IndexInfo(14, "public", "no_overlap", true, true, false, null);
        TableStats t = new TableStats(1, "my schema", "Odd\"Name", null, 10, 5, 1, 8192, 8192, false, 0, 0,
                List.of(pkey, invalid, leftover, exclusion));
        List<Step> steps = VacuumPlanner.steps(t, request(null, null, true, false, List.of()));
        assertEquals(List.of(
                "VACUUM (ANALYZE) \"my schema\".\"Odd\"\"Name\"",
                "DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"by_v_ccnew\"",
                "REINDEX INDEX CONCURRENTLY \"public\".\"Odd\"\"Name_pkey\"",
                "REINDEX INDEX CONCURRENTLY \"public\".\"by_v\""), steps.stream().map(Step::sql).toList());

        List<IndexNote> notes = VacuumPlanner.indexNotes(List.of(t), Set.of(1L), request(null, null, true, false, List.of()));
        assertEquals(3, notes.size(), notes.toString());
        assertTrue(notes.stream().anyMatch(n -> n.index().equals("public.by_v") && n.action().contains("REINDEX INDEX CONCURRENTLY")));
        assertTrue(notes.stream().anyMatch(n -> n.index().equals("public.by_v_ccnew") && n.action().startsWith("dropped")));
        assertTrue(notes.stream().anyMatch(n -> n.index().equals("public.no_overlap") && n.action().contains("--blocking")));
    }

    @Test
    void blockingReindexIsOneDatabaseStatementOnlyForTheWholeDatabase() {
        TableStats t = table(1, "t", 10, 0, 1, index(2, "t_pkey"));
        VacuumRequest whole = request(null, null, true, true, List.of());
        assertEquals(List.of("VACUUM (ANALYZE) \"public\".\"t\""), VacuumPlanner.steps(t, whole).stream().map(Step::sql).toList());
        assertEquals("REINDEX DATABASE \"shop\"", VacuumPlanner.databaseSteps(whole, "shop").get(0).sql());

        VacuumRequest some = request(null, null, true, true, List.of("t"));
        assertEquals(List.of("VACUUM (ANALYZE) \"public\".\"t\"", "REINDEX TABLE \"public\".\"t\""),
                VacuumPlanner.steps(t, some).stream().map(Step::sql).toList());
        assertTrue(VacuumPlanner.databaseSteps(some, "shop").isEmpty());
        assertTrue(VacuumPlanner.databaseSteps(request(null, null, true, false, List.of()), "shop").isEmpty());
    }

    @Test
    void namesResolveExactlyAndUnknownOnesAreAllNamed() {
        TableStats a = table(1, "pages", 1, 0, 1);
        TableStats b = new TableStats(2, "archive", "pages", null, 1, 0, 1, 0, 0, false, 0, 0, List.of());
        TableStats c = table(3, "users", 1, 0, 1);
        TableStats p1 = table(4, "events_2024", 1, 0, 1);
        TableCatalog.Snapshot snap = new TableCatalog.Snapshot(List.of(a, b, c, p1),
                List.of(new TableCatalog.Partitioned("public", "events", List.of(4L))));
        assertEquals(List.of(b, c), VacuumPlanner.resolve(List.of("archive.pages", "users"), snap, "db"));
        assertEquals(List.of(p1), VacuumPlanner.resolve(List.of("events"), snap, "db"));
        ChronoException ambiguous = assertThrows(ChronoException.class, () -> VacuumPlanner.resolve(List.of("pages"), snap, "db"));
        assertTrue(ambiguous.getMessage().contains("archive, public"), ambiguous.getMessage());
        ChronoException unknown = assertThrows(ChronoException.class,
                () -> VacuumPlanner.resolve(List.of("Users", "users", "nope.x"), snap, "db"));
        assertEquals(ExitCode.USAGE, unknown.exitCode());
        assertEquals("unknown tables 'Users', 'nope.x' in database db", unknown.getMessage());
    }

    @Test
    void leftoverOnlyWhenTheOriginalIndexExists() {
        assertEquals("t_pkey", TableCatalog.leftoverOf("t_pkey_ccnew", List.of("t_pkey", "t_pkey_ccnew")));
        assertEquals("t_pkey", TableCatalog.leftoverOf("t_pkey_ccnew12", List.of("t_pkey")));
        assertEquals("t_pkey", TableCatalog.leftoverOf("t_pkey_ccold", List.of("t_pkey")));
        assertNull(TableCatalog.leftoverOf("my_ccnew", List.of("other")));
        assertNull(TableCatalog.leftoverOf("t_pkey", List.of("t_pkey")));
    }

    @Test
    void lockTimeoutParsesPostgresUnitsAndRefusesZero() {
        assertEquals(Duration.ofSeconds(5), VacuumRequest.parseLockTimeout("5s"));
        assertEquals(Duration.ofSeconds(7), VacuumRequest.parseLockTimeout("7"));
        assertEquals(Duration.ofMillis(500), VacuumRequest.parseLockTimeout("500ms"));
        assertEquals(Duration.ofMinutes(2), VacuumRequest.parseLockTimeout("2min"));
        assertThrows(ChronoException.class, () -> VacuumRequest.parseLockTimeout("5 hours"));
        assertThrows(ChronoException.class, () -> new VacuumRequest(List.of(), false, null, null, false, false, false,
                Duration.ZERO, false, 1));
        assertEquals("SET lock_timeout = '1500ms'", new VacuumRequest(List.of(), false, null, null, false, false, false,
                Duration.ofMillis(1500), false, 1).sessionSetup());
    }

    @Test
    void repackCommandQuotesForPgRepackAndTheShell() {
        ConnectionSettings s = new ConnectionSettings("db.example", 5433, "shop", "admin", Secret.of("pw"), null);
        TableStats odd = new TableStats(1, "public", "Order's", null, 0, 0, 0, 0, 0, false, 0, 0, List.of());
        TableStats plain = table(2, "pages", 0, 0, 0);
        RepackOffer offer = RepackOffer.of("1.4.8", s, List.of(plain, odd));
        assertEquals("pg_repack -h db.example -p 5433 -U admin -d shop --no-order --table=public.pages "
                + "'--table=public.\"Order'\\''s\"'", offer.command());
        assertTrue(!offer.command().contains("pw"));
    }

    @Test
    void badOptionCombinationsAreRefusedBeforeConnecting() {
        // Port 1 has no server: had these got as far as connecting, they would exit 2, not 64.
        Map<String, String> env = Map.of("PGHOST", "127.0.0.1", "PGPORT", "1");
        assertRefused(env, "--blocking only applies to --reindex", "vacuum", "--blocking");
        assertRefused(env, "VACUUM FULL already rebuilds", "vacuum", "--full", "--reindex");
        assertRefused(env, "--jobs 0", "vacuum", "--jobs", "0");
        assertRefused(env, "--min-dead-percent 120.0", "vacuum", "--min-dead-percent", "120");
        assertRefused(env, "--lock-timeout 'soon'", "vacuum", "--lock-timeout", "soon");
        assertRefused(env, "--lock-timeout must be more than 0", "vacuum", "--lock-timeout", "0");
    }

    private void assertRefused(Map<String, String> env, String message, String... args) {
        CliRun run = CliRun.run(env, tmp, args);
        assertEquals(64, run.exitCode(), run.toString());
        assertTrue(run.err().contains(message), run.toString());
    }
}
