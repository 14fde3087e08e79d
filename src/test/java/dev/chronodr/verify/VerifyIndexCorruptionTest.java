package dev.chronodr.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * Bytes overwritten inside a B-tree leaf page while the server is stopped. The test
 * clusters have data checksums on, so the server itself refuses the page ("invalid page
 * in block"); verify must call that index CRITICAL, exit 2, and the checksum check must
 * count the failure.
 */
@PostgresTest
class VerifyIndexCorruptionTest {

    @Test
    void overwrittenIndexLeafPageIsCritical(PgCluster pg, @TempDir Path tmp) throws Exception {
        pg.assumeLocal();
        String db = pg.createDatabase("damaged_index");
        pg.execute(db, """
                CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL);
                INSERT INTO items SELECT g, 'label ' || g FROM generate_series(1, 200) g;
                CREATE INDEX items_label_idx ON items (label);
                CHECKPOINT;
                """);
        assertEquals(8192, Integer.parseInt(pg.scalar(db, "SELECT current_setting('block_size')").toString()));
        Path file = DataFiles.relationFile(pg, db, "items_pkey");
        pg.stop();
        // Block 0 is the metapage; with 200 keys block 1 is the only leaf (and the root).
        DataFiles.editPage(file, 1, page -> {
            int n = DataFiles.items(page);
            assertTrue(n >= 200, "expected one leaf with every key, found " + n + " items");
            for (int i = 10; i < 20; i++) {
                int off = DataFiles.itemOffset(page, i);
                page.putInt(off + 8, 0x7EADBEEF);
            }
        });
        pg.start();

        CliRun run = CliRun.run(pg.env(db), tmp, "verify", "--format", "json");
        assertEquals(2, run.exitCode(), run.toString());
        JsonNode report = run.json();
        assertEquals("CRITICAL", report.get("status").asText());

        JsonNode btree = DataFiles.check(report, "btree");
        assertEquals("CRITICAL", btree.get("status").asText(), btree.toString());
        List<JsonNode> bad = DataFiles.findings(btree, "public.items_pkey");
        assertEquals(1, bad.size(), btree.toString());
        assertEquals("CRITICAL", bad.get(0).get("status").asText());
        String message = bad.get(0).get("message").asText();
        assertTrue(message.contains("invalid page in block 1") || message.contains("items_pkey"), message);
        assertEquals("REINDEX INDEX CONCURRENTLY \"public\".\"items_pkey\";", bad.get(0).get("fix").asText());
        // Only the damaged index is named; its neighbour on the same table is sound.
        assertEquals(1, btree.get("findings").size(), btree.toString());
        assertEquals("OK", DataFiles.check(report, "heap").get("status").asText());

        JsonNode checksums = DataFiles.check(report, "checksums");
        assertEquals("CRITICAL", checksums.get("status").asText(), checksums.toString());
        List<JsonNode> failures = DataFiles.findings(checksums, db);
        assertEquals(1, failures.size(), checksums.toString());
        assertTrue(failures.get(0).get("count").asLong() >= 1);

        CliRun text = CliRun.run(pg.env(db), tmp, "verify", "--only", "btree");
        assertEquals(2, text.exitCode(), text.toString());
        assertTrue(text.out().startsWith("CRITICAL: chrono-dr verify"), text.out());
        assertTrue(text.out().contains("CRITICAL index public.items_pkey on public.items"), text.out());
        assertTrue(text.out().contains("fix: REINDEX INDEX CONCURRENTLY \"public\".\"items_pkey\";"), text.out());
    }
}
