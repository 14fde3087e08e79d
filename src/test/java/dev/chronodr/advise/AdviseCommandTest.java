package dev.chronodr.advise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * Each situation built on a real server, found, and its printed fix run for real: the SQL
 * is valid with names that need quoting, and after it the finding is gone. Indexes that
 * enforce something, that a foreign key needs, or that were used are never called unused.
 */
@PostgresTest
class AdviseCommandTest {
    private static final String S = "\"Shop ü\"";
    private final PgCluster pg;
    @TempDir
    Path dir;

    AdviseCommandTest(PgCluster pg) {
        this.pg = pg;
    }

    private CliRun advise(String db, String... more) {
        List<String> args = new ArrayList<>(List.of("advise", "--format", "json", "--min-size", "0"));
        args.addAll(List.of(more));
        return CliRun.run(pg.env(db), dir, args.toArray(String[]::new));
    }

    private static List<JsonNode> of(CliRun r, String kind) {
        List<JsonNode> out = new ArrayList<>();
        r.json().get("advice").forEach(a -> {
            if (a.get("kind").asText().equals(kind)) {
                out.add(a);
            }
        });
        return out;
    }

    private static List<String> objects(CliRun r, String kind) {
        return of(r, kind).stream().map(a -> a.get("object").asText()).toList();
    }

    @Test
    void findsEachSituationAndItsFixMakesItGo() throws Exception {
        String db = pg.createDatabase("advise ü");
        pg.execute(db, "CREATE SCHEMA " + S + ";"
                + "CREATE TABLE " + S + ".\"Orders\" (id int PRIMARY KEY, customer int, created date, note text);"
                + "INSERT INTO " + S + ".\"Orders\" SELECT g, g % 500, date '2026-01-01' + (g % 300), md5(g::text) FROM generate_series(1, 30000) g;"
                + "CREATE TABLE " + S + ".\"Order \"\"lines\"\" ü\" (id int PRIMARY KEY, order_id int REFERENCES " + S + ".\"Orders\"(id), qty int);"
                + "INSERT INTO " + S + ".\"Order \"\"lines\"\" ü\" SELECT g, g, 1 FROM generate_series(1, 5000) g;"
                + "CREATE TABLE " + S + ".fk_indexed (id int PRIMARY KEY, order_id int REFERENCES " + S + ".\"Orders\"(id));"
                + "CREATE INDEX fk_idx ON " + S + ".fk_indexed (order_id);"
                + "INSERT INTO " + S + ".fk_indexed SELECT g, g FROM generate_series(1, 2000) g;"
                + "CREATE INDEX dup_a ON " + S + ".\"Orders\" (customer);"
                + "CREATE INDEX \"dup b\" ON " + S + ".\"Orders\" (customer);"
                + "CREATE INDEX narrow ON " + S + ".\"Orders\" (created);"
                + "CREATE INDEX wide ON " + S + ".\"Orders\" (created, customer);"
                + "CREATE INDEX used_idx ON " + S + ".\"Orders\" (note);"
                + "CREATE TABLE " + S + ".scanned (id int, val int);"
                + "INSERT INTO " + S + ".scanned SELECT g, g % 100 FROM generate_series(1, 20000) g;"
                + "CREATE TABLE " + S + ".bloated (id int, pad text);"
                + "INSERT INTO " + S + ".bloated SELECT g, repeat('y', 100) FROM generate_series(1, 50000) g;"
                + "DELETE FROM " + S + ".bloated WHERE id % 10 <> 0;");
        pg.execute(db, "VACUUM ANALYZE");
        pg.execute(db, "SET enable_seqscan = off; SELECT count(*) FROM " + S + ".\"Orders\" WHERE note = 'x'");
        for (int i = 0; i < 5; i++) {
            pg.execute(db, "SELECT count(*) FROM " + S + ".scanned WHERE val = 7");
        }
        // The statistics reach the shared views when the sessions end; wait until they have.
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (((Number) pg.scalar(db, "SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes WHERE indexrelname = 'used_idx'"))
                .longValue() == 0 || ((Number) pg.scalar(db, "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'scanned'"))
                .longValue() < 5) {
            assertTrue(System.nanoTime() < deadline, "statistics never arrived");
            Thread.sleep(100);
        }

        CliRun r = advise(db);
        assertEquals(1, r.exitCode(), r.toString());
        assertEquals(List.of(S + ".\"Order \"\"lines\"\" ü\" (\"order_id\")"), objects(r, "FOREIGN_KEY_WITHOUT_INDEX"), r.out());
        assertEquals(List.of(S + ".\"dup b\""), objects(r, "DUPLICATE_INDEX"), r.out());
        assertEquals(List.of(S + ".\"narrow\""), objects(r, "OVERLAPPING_INDEX"), r.out());
        List<String> unused = objects(r, "UNUSED_INDEX");
        assertTrue(unused.contains(S + ".\"wide\"") && unused.contains(S + ".\"dup_a\""), r.out());
        for (String kept : List.of("used_idx", "fk_idx", "pkey", "dup b", "narrow")) {
            assertFalse(unused.stream().anyMatch(u -> u.contains(kept)), kept + " is not 'unused': " + unused);
        }
        assertEquals(List.of(S + ".\"scanned\""), objects(r, "SEQUENTIAL_SCANS"), r.out());
        assertTrue(of(r, "SEQUENTIAL_SCANS").get(0).path("fix").isMissingNode(), "no guessed index for a scanned table");
        assertEquals(List.of(S + ".\"bloated\""), objects(r, "BLOAT"), r.out());
        assertTrue(r.json().get("notes").toString().contains("pg_stat_statements is not installed"), r.out());

        // advise changed nothing: 3 primary keys and 6 indexes, as built
        assertEquals(9L, ((Number) pg.scalar(db, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'Shop ü'")).longValue());

        // The printed statements, run as printed (each on its own, outside a transaction block)
        for (String kind : List.of("FOREIGN_KEY_WITHOUT_INDEX", "DUPLICATE_INDEX", "OVERLAPPING_INDEX")) {
            pg.execute(db, of(r, kind).get(0).get("fix").asText());
        }
        CliRun after = advise(db);
        assertTrue(objects(after, "FOREIGN_KEY_WITHOUT_INDEX").isEmpty(), after.out());
        assertTrue(objects(after, "DUPLICATE_INDEX").isEmpty(), after.out());
        assertTrue(objects(after, "OVERLAPPING_INDEX").isEmpty(), after.out());
        assertEquals(1L, ((Number) pg.scalar(db, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'Shop ü' AND tablename = 'Order \"lines\" ü'"
                + " AND indexdef LIKE '%(order_id)%'")).longValue(), "the foreign key's index exists");
        // The new index backs the foreign key: it is never proposed for dropping although nothing scanned it yet
        assertFalse(objects(after, "UNUSED_INDEX").stream().anyMatch(u -> u.contains("lines")), after.out());

        // The text says what to run and that nothing was run
        CliRun text = CliRun.run(pg.env(db), dir, "advise", "--min-size", "0");
        assertEquals(1, text.exitCode(), text.toString());
        assertTrue(text.out().contains("DROP INDEX CONCURRENTLY " + S + ".\"wide\";"), text.out());
        assertTrue(text.out().contains("Nothing was changed."), text.out());
    }

    @Test
    void anEmptyDatabaseHasNothingToAdviseAndBadInputIsRefused() {
        String db = pg.createDatabase("advise_empty");
        CliRun r = advise(db);
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(0, r.json().get("advice").size(), r.out());
        CliRun bad = CliRun.run(pg.env(db), dir, "advise", "--min-size", "lots");
        assertEquals(64, bad.exitCode(), bad.toString());
        assertTrue(bad.err().contains("--min-size 'lots'"), bad.err());
    }
}
