package dev.chronodr.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * Damage that only amcheck can see: with data checksums turned off (pg_checksums
 * --disable), two keys of a B-tree leaf are swapped and a heap tuple's xmin is pushed into
 * the future. The server reads both pages without complaint; bt_index_check and
 * verify_heapam must not.
 */
@PostgresTest
class VerifyAmcheckDamageTest {

    @Test
    void swappedIndexKeysAndFutureXminAreCritical(PgCluster pg, @TempDir Path tmp) throws Exception {
        pg.assumeLocal();
        String db = pg.createDatabase("damaged_structure");
        pg.execute(db, """
                CREATE TABLE orders (id int PRIMARY KEY, note text);
                INSERT INTO orders SELECT g, 'note ' || g FROM generate_series(1, 100) g;
                CREATE TABLE intact (id int PRIMARY KEY);
                INSERT INTO intact SELECT generate_series(1, 100);
                -- No index on ledger and no autovacuum: nothing but verify_heapam reads the damaged tuple.
                CREATE TABLE ledger (id int, amount int) WITH (autovacuum_enabled = false);
                INSERT INTO ledger SELECT g, g * 10 FROM generate_series(1, 50) g;
                CHECKPOINT;
                """);
        Path index = DataFiles.relationFile(pg, db, "orders_pkey");
        Path heap = DataFiles.relationFile(pg, db, "ledger");
        pg.stop();
        DataFiles.runServerProgram(pg, "pg_checksums", "--disable", "-D", pg.dataDir().toString());
        DataFiles.editPage(index, 1, page -> {
            int first = DataFiles.itemOffset(page, 1) + 8;
            int second = DataFiles.itemOffset(page, 2) + 8;
            int a = page.getInt(first);
            int b = page.getInt(second);
            assertEquals(1, a);
            assertEquals(2, b);
            page.putInt(first, b);
            page.putInt(second, a);
        });
        DataFiles.editPage(heap, 0, page -> page.putInt(DataFiles.itemOffset(page, 1), 0x7FFFFF00));
        pg.start();

        CliRun run = CliRun.run(pg.env(db), tmp, "verify", "--format", "json", "--jobs", "2");
        assertEquals(2, run.exitCode(), run.toString());
        JsonNode report = run.json();

        JsonNode btree = DataFiles.check(report, "btree");
        assertEquals("CRITICAL", btree.get("status").asText(), btree.toString());
        List<JsonNode> bad = DataFiles.findings(btree, "public.orders_pkey");
        assertEquals(1, bad.size(), btree.toString());
        assertTrue(bad.get(0).get("message").asText().contains("item order invariant violated"), bad.toString());
        assertTrue(DataFiles.findings(btree, "public.intact_pkey").isEmpty(), btree.toString());
        assertEquals(1, btree.get("findings").size(), btree.toString());

        JsonNode heapCheck = DataFiles.check(report, "heap");
        assertEquals("CRITICAL", heapCheck.get("status").asText(), heapCheck.toString());
        List<JsonNode> damaged = DataFiles.findings(heapCheck, "public.ledger");
        assertEquals(1, damaged.size(), heapCheck.toString());
        assertEquals(1, damaged.get(0).get("count").asLong());
        String sample = damaged.get(0).get("sample").get(0).asText();
        assertTrue(sample.startsWith("block 0, item 1: xmin 2147483392 equals or exceeds next valid transaction ID"), sample);

        // With checksums off the server records no failures: skipped, but that is no "could not check".
        JsonNode checksums = DataFiles.check(report, "checksums");
        assertEquals("SKIPPED", checksums.get("status").asText());
        assertFalse(checksums.get("blocked").asBoolean());
        assertTrue(checksums.get("summary").asText().contains("data checksums are off"));

        // Narrowed to the sound table, the same run is clean.
        CliRun clean = CliRun.run(pg.env(db), tmp, "verify", "--format", "json", "--tables", "intact", "--only", "btree,heap");
        assertEquals(0, clean.exitCode(), clean.toString());
        assertEquals(1, DataFiles.check(clean.json(), "btree").get("checked").asInt());
    }
}
