package dev.chronodr.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.chronodr.pg.TableDigest;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * The drill's content digests, read table by table on a connection of their own: a table
 * that cannot be read, or that nobody read, is a problem, never a silent pass.
 */
@PostgresTest
class ContentDigestsTest {
    private static final String DB = "digests_db";

    private static BackupManifest.TableEntry entry(PgCluster pg, String table) throws Exception {
        try (Connection c = pg.connect(DB)) {
            c.setAutoCommit(false);
            TableDigest.Digest d = TableDigest.like(c, "public", table, "c256:");
            c.rollback();
            return new BackupManifest.TableEntry("public", table, d.rows(), d.value());
        }
    }

    @Test
    void matchesDifferencesAndTablesThatCannotBeReadAreAllAccountedFor(PgCluster pg) throws Exception {
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE a (id int); INSERT INTO a SELECT generate_series(1, 100);"
                + "CREATE TABLE b (t text); INSERT INTO b VALUES ('x'), ('y')");
        BackupManifest.TableEntry a = entry(pg, "a");
        BackupManifest.TableEntry b = entry(pg, "b");
        assertTrue(a.digest().startsWith("c256:"), a.toString());

        try (ContentDigests same = new ContentDigests(pg.connection(DB), List.of(a, b))) {
            same.loaded("public", "a"); // announced: read at once; b is read by finish()
            same.loaded("public", "a"); // announced twice: read once
            same.loaded("public", "no_such_table"); // not one of ours: ignored
            assertEquals(List.of(), same.finish());
            assertEquals(1, same.announced());
        }

        pg.execute(DB, "UPDATE b SET t = 'z' WHERE t = 'y'");
        try (ContentDigests changed = new ContentDigests(pg.connection(DB), List.of(a, b))) {
            assertEquals(List.of("public.b: content differs from the backup's (2 rows restored, 2 in the backup)"), changed.finish());
        }

        // the database is gone (a connection refused, an unchecked error in the driver's layer): one problem per table
        try (ContentDigests gone = new ContentDigests(pg.connection("digests_no_such_db"), List.of(a, b))) {
            gone.loaded("public", "b");
            List<String> problems = gone.finish();
            assertEquals(2, problems.size(), problems.toString());
            assertTrue(problems.stream().allMatch(p -> p.contains(": could not be read: ")), problems.toString());
        }

        // stopped before finishing (the restore failed): nothing passes for compared
        ContentDigests stopped = new ContentDigests(pg.connection(DB), List.of(a, b));
        stopped.failed();
        List<String> problems = stopped.finish();
        assertEquals(List.of("2 table(s) were not compared"), problems);
    }
}
