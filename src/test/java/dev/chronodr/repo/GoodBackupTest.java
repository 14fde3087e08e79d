package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.chronodr.core.Json;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * One notion of a good backup, asked by every command: list shows the states, cleanup
 * never leaves a database without a backup that passes its checksums, restore --latest
 * and dr-test take the newest one that does, verify and monitor look at this database's
 * newest backup of a kind that can bring it back, and nothing outside a backup's directory
 * is ever read through its manifest.
 */
@PostgresTest
class GoodBackupTest {
    @TempDir
    Path dir;

    private static String backup(PgCluster pg, String db, Path repo, Path cwd, String... more) {
        String[] base = {"backup", "--repo", repo.toString(), "--format", "json"};
        String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(more)).toArray(String[]::new);
        CliRun r = CliRun.run(pg.env(db), cwd, args);
        assertEquals(0, r.exitCode(), r.toString());
        return Path.of(r.json().get("path").asText()).getFileName().toString();
    }

    private static void flip(Path file) throws Exception {
        byte[] b = Files.readAllBytes(file);
        b[b.length / 2] ^= 0x40;
        Files.write(file, b);
    }

    private static void truncate(Path file) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
    }

    private Map<String, JsonNode> list(PgCluster pg, String db, Path repo) {
        CliRun r = CliRun.run(pg.env(db), dir, "list", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        Map<String, JsonNode> out = new LinkedHashMap<>();
        r.json().get("backups").forEach(b -> out.put(b.get("id").asText(), b));
        return out;
    }

    private static String state(Map<String, JsonNode> list, String id) {
        return list.get(id).get("state").asText();
    }

    private static void emptyLegacy(Path file) throws Exception {
        // What `pg_dump ... | gzip > file` leaves when pg_dump fails at once: a gzip of nothing.
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.flush();
        }
    }

    private static long count(PgCluster pg, String db, String table) {
        return ((Number) pg.scalar(db, "SELECT count(*) FROM " + table)).longValue();
    }

    @Test
    void listShowsEveryState(PgCluster pg) throws Exception {
        String db = pg.createDatabase("states");
        pg.execute(db, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)");
        String empty = pg.createDatabase("states_empty");
        Path repo = dir.resolve("repo");
        String complete = backup(pg, db, repo, dir);
        String verified = backup(pg, db, repo, dir);
        CliRun v = CliRun.run(pg.env(db), dir, "verify", "--repo", repo.toString(), "--backup", verified, "--format", "json");
        assertEquals(0, v.exitCode(), v.toString());
        String truncated = backup(pg, db, repo, dir);
        truncate(repo.resolve(truncated).resolve("database.dump.zst"));
        String noFiles = backup(pg, db, repo, dir);
        ObjectNode m = (ObjectNode) Json.mapper().readTree(repo.resolve(noFiles).resolve("manifest.json").toFile());
        m.set("files", Json.mapper().createArrayNode());
        Json.mapper().writeValue(repo.resolve(noFiles).resolve("manifest.json").toFile(), m);
        String extra = backup(pg, db, repo, dir);
        Files.writeString(repo.resolve(extra).resolve("notes.txt"), "who put this here?");
        String noSums = backup(pg, db, repo, dir);
        Files.delete(repo.resolve(noSums).resolve("SHA256SUMS"));
        String partial = backup(pg, db, repo, dir, "--type", "data", "--tables", "t");
        String nothing = backup(pg, empty, repo, dir);
        Path legacy = repo.resolve("states_full_20250101_020000.sql.gz");
        emptyLegacy(legacy);

        Map<String, JsonNode> l = list(pg, db, repo);
        assertEquals("complete", state(l, complete), l.get(complete).toString());
        assertEquals("verified", state(l, verified), l.get(verified).toString());
        assertTrue(l.get(verified).hasNonNull("verified_at"), l.get(verified).toString());
        assertEquals("damaged", state(l, truncated));
        assertTrue(l.get(truncated).get("reason").asText().contains("truncated"), l.get(truncated).toString());
        assertEquals("damaged", state(l, noFiles));
        assertTrue(l.get(noFiles).get("reason").asText().contains("lists no files"), l.get(noFiles).toString());
        assertEquals("damaged", state(l, extra));
        assertTrue(l.get(extra).get("reason").asText().contains("notes.txt"), l.get(extra).toString());
        assertEquals("damaged", state(l, noSums));
        assertTrue(l.get(noSums).get("reason").asText().contains("SHA256SUMS"), l.get(noSums).toString());
        assertEquals("partial", state(l, partial));
        assertEquals("empty", state(l, nothing));
        assertEquals("empty", state(l, legacy.getFileName().toString()));

        CliRun text = CliRun.run(pg.env(db), dir, "list", "--repo", repo.toString());
        assertTrue(text.out().contains("STATE") && text.out().contains("damaged") && text.out().contains("verified"), text.out());
    }

    @Test
    void cleanupKeepsARestorableBackupWhenTheNewestIsDamaged(PgCluster pg) throws Exception {
        String db = pg.createDatabase("keep_one");
        pg.execute(db, "CREATE TABLE pages (id int); INSERT INTO pages SELECT generate_series(1, 500)");
        Path repo = dir.resolve("repo");
        String oldest = backup(pg, db, repo, dir);
        String good = backup(pg, db, repo, dir);
        String flipped = backup(pg, db, repo, dir);
        // Bytes flipped in place: the size is right, only a checksum check can tell.
        flip(repo.resolve(flipped).resolve("database.dump.zst"));

        CliRun c = CliRun.run(pg.env(db), dir, "cleanup", "--repo", repo.toString(), "--keep-last", "1", "--format", "json");
        assertEquals(0, c.exitCode(), c.toString());
        assertTrue(Files.isDirectory(repo.resolve(good)), "the newest backup that passes its checksums survives: " + c);
        assertTrue(Files.isDirectory(repo.resolve(flipped)), "the damaged one is kept for a person to look at");
        assertFalse(Files.exists(repo.resolve(oldest)), "the older good one beyond --keep-last 1 goes: " + c);
        Map<String, JsonNode> l = list(pg, db, repo);
        assertEquals("damaged", state(l, flipped), "the failed check is remembered: " + l.get(flipped));
        assertEquals("verified", state(l, good));

        // restore --latest takes the good one and names the one it passed over.
        pg.execute(db, "DELETE FROM pages WHERE id > 10");
        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(good, r.json().get("source").get("id").asText(), r.toString());
        assertTrue(r.out().contains("passed over newer backup " + flipped), r.toString());
        assertEquals(500, count(pg, db, "pages"));
    }

    @Test
    void cleanupDeletesNothingOfADatabaseWhoseBackupsAllFail(PgCluster pg) throws Exception {
        String db = pg.createDatabase("all_bad");
        pg.execute(db, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
        Path repo = dir.resolve("repo");
        String a = backup(pg, db, repo, dir);
        String b = backup(pg, db, repo, dir);
        String c = backup(pg, db, repo, dir);
        flip(repo.resolve(b).resolve("database.dump.zst"));
        flip(repo.resolve(c).resolve("database.dump.zst"));
        flip(repo.resolve(a).resolve("globals.sql.zst"));

        CliRun r = CliRun.run(pg.env(db), dir, "cleanup", "--repo", repo.toString(), "--keep-last", "0", "--retention-days", "0");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.out().contains("no full backup of all_bad passes its checksum check"), r.toString());
        for (String id : List.of(a, b, c)) {
            assertTrue(Files.isDirectory(repo.resolve(id)), id + " must survive: " + r);
        }
    }

    @Test
    void restoreLatestPassesOverEmptyLegacyFilesAndNeverSwapsInAnEmptyDatabase(PgCluster pg) throws Exception {
        String db = pg.createDatabase("no_empty_swap");
        pg.execute(db, "CREATE TABLE pages (id int); INSERT INTO pages SELECT generate_series(1, 300)");
        Path repo = dir.resolve("repo");
        String good = backup(pg, db, repo, dir);
        // The runbook's cron, failing tonight: a newer, empty .sql.gz.
        String tomorrow = java.time.LocalDateTime.now().plusDays(1).format(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss"));
        Path legacy = repo.resolve(db + "_full_" + tomorrow + ".sql.gz");
        emptyLegacy(legacy);

        CliRun latest = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "--format", "json");
        assertEquals(0, latest.exitCode(), latest.toString());
        assertEquals(good, latest.json().get("source").get("id").asText());
        assertEquals(300, count(pg, db, "pages"));

        // Chosen by name, it is refused over a database that has tables, and nothing is touched...
        Thread.sleep(1100); // staging names carry the second
        CliRun byId = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--backup-id", legacy.getFileName().toString(), "--yes");
        assertEquals(1, byId.exitCode(), byId.toString());
        assertTrue(byId.err().contains("holds no tables") && byId.err().contains("--allow-empty"), byId.err());
        assertEquals(300, count(pg, db, "pages"));
        CliRun file = CliRun.run(pg.env(db), dir, "restore", "--backup-file", legacy.toString(), "--yes");
        assertEquals(1, file.exitCode(), file.toString());
        assertEquals(300, count(pg, db, "pages"));
        // ...unless the user says an empty database is what they want.
        CliRun allowed = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--backup-id", legacy.getFileName().toString(),
                "--yes", "--allow-empty");
        assertEquals(0, allowed.exitCode(), allowed.toString());
        assertEquals(0L, ((Number) pg.scalar(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).longValue());
    }

    @Test
    void verifyLatestBackupIsThisDatabasesNewest(PgCluster pg) throws Exception {
        String app = pg.createDatabase("appdb");
        String other = pg.createDatabase("otherdb");
        pg.execute(app, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
        pg.execute(other, "CREATE TABLE u (id int); INSERT INTO u VALUES (1)");
        Path repo = dir.resolve("repo");
        String appBackup = backup(pg, app, repo, dir);
        flip(repo.resolve(appBackup).resolve("database.dump.zst"));
        backup(pg, other, repo, dir);

        CliRun v = CliRun.run(pg.env(app), dir, "verify", "--repo", repo.toString(), "--latest-backup", "--format", "json");
        assertEquals(2, v.exitCode(), "appdb's newest backup is damaged, whatever otherdb's says: " + v);
        assertTrue(v.out().contains(appBackup), v.toString());

        // A newer backup of appdb whose manifest cannot be read is what --latest-backup checks: exit 2, not a skip.
        String second = backup(pg, app, repo, dir);
        Files.writeString(repo.resolve(second).resolve("manifest.json"), "{ not json");
        CliRun u = CliRun.run(pg.env(app), dir, "verify", "--repo", repo.toString(), "--latest-backup", "--format", "json");
        assertEquals(2, u.exitCode(), u.toString());
        assertTrue(u.out().contains(second), u.toString());
    }

    private JsonNode freshness(PgCluster pg, String db, Path repo) {
        CliRun r = CliRun.run(pg.env(db), dir, "monitor", "--check", "backup_freshness", "--repo", repo.toString(), "--format", "json");
        for (JsonNode c : r.json().get("checks")) {
            if (c.get("name").asText().equals("backup_freshness")) {
                return c;
            }
        }
        throw new AssertionError("no backup_freshness in " + r);
    }

    @Test
    void freshnessCountsOnlyRestorableBackupsOfThisDatabase(PgCluster pg) throws Exception {
        String db = pg.createDatabase("fresh_good");
        pg.execute(db, "CREATE TABLE a (id int); CREATE TABLE b (id int); CREATE TABLE c (id int)");
        Path repo = dir.resolve("repo");
        // Only a data backup of three tables, and an empty legacy file: nothing that brings the database back.
        backup(pg, db, repo, dir, "--type", "data", "--tables", "a", "b", "c");
        emptyLegacy(repo.resolve(db + "_full_" + java.time.LocalDateTime.now().format(
                java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss")) + ".sql.gz"));
        JsonNode none = freshness(pg, db, repo);
        assertEquals("CRITICAL", none.get("status").asText(), none.toString());

        String good = backup(pg, db, repo, dir);
        JsonNode ok = freshness(pg, db, repo);
        assertEquals("OK", ok.get("status").asText(), ok.toString());
        assertTrue(ok.get("message").asText().contains(good) && ok.get("message").asText().contains("never verified"), ok.toString());

        String newest = backup(pg, db, repo, dir);
        truncate(repo.resolve(newest).resolve("database.dump.zst"));
        JsonNode warn = freshness(pg, db, repo);
        assertEquals("WARNING", warn.get("status").asText(), "a damaged newest backup is at least a warning: " + warn);
        assertTrue(warn.get("message").asText().contains(good) && warn.get("message").asText().contains(newest), warn.toString());
    }

    @Test
    void criticalRowCountsCompareWithTheNewestFullBackup(PgCluster pg) throws Exception {
        String db = pg.createDatabase("critical_rows");
        pg.execute(db, "CREATE TABLE pages (id int); INSERT INTO pages SELECT generate_series(1, 1000); CREATE TABLE small (id int)");
        Path repo = dir.resolve("repo");
        backup(pg, db, repo, dir);
        backup(pg, db, repo, dir, "--type", "data", "--tables", "small");
        pg.execute(db, "DELETE FROM pages WHERE id > 100");
        Path config = dir.resolve("chrono-dr.yaml");
        Files.writeString(config, "targets:\n  app:\n    critical_tables: [pages]\n");
        CliRun v = CliRun.run(pg.env(db), dir, "verify", "--config", config.toString(), "--repo", repo.toString(),
                "--only", "critical-row-counts", "--format", "json");
        assertEquals(2, v.exitCode(), "90% of pages gone since the full backup, whatever the data backup after it holds: " + v);
    }

    @Test
    void manifestPathsNeverLeaveTheBackupsDirectory(PgCluster pg) throws Exception {
        String db = pg.createDatabase("hostile");
        pg.execute(db, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 50)");
        Path repo = dir.resolve("repo");
        String id = backup(pg, db, repo, dir);
        Path bdir = repo.resolve(id);
        // Move the dump outside and point the manifest at it, with the right size and SHA-256.
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.move(bdir.resolve("database.dump.zst"), outside.resolve("database.dump.zst"));
        ObjectNode m = (ObjectNode) Json.mapper().readTree(bdir.resolve("manifest.json").toFile());
        for (JsonNode f : (ArrayNode) m.get("files")) {
            if (f.get("role").asText().equals("dump")) {
                ((ObjectNode) f).put("name", "../../outside/database.dump.zst");
            }
        }
        Json.mapper().writeValue(bdir.resolve("manifest.json").toFile(), m);
        // And a second backup whose dump is a link to it.
        String linked = backup(pg, db, repo, dir);
        Files.delete(repo.resolve(linked).resolve("database.dump.zst"));
        Files.createSymbolicLink(repo.resolve(linked).resolve("database.dump.zst"), outside.resolve("database.dump.zst"));

        Map<String, JsonNode> l = list(pg, db, repo);
        assertEquals("foreign", state(l, id), l.get(id).toString());
        assertEquals("foreign", state(l, linked), l.get(linked).toString());
        for (String b : List.of(id, linked)) {
            CliRun v = CliRun.run(pg.env(db), dir, "verify", "--repo", repo.toString(), "--backup", b);
            assertEquals(2, v.exitCode(), v.toString());
            CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--backup-id", b, "--target-db", "hostile_copy");
            assertEquals(1, r.exitCode(), r.toString());
        }
        CliRun file = CliRun.run(pg.env(db), dir, "restore", "--backup-file", bdir.toString(), "--target-db", "hostile_copy");
        assertEquals(1, file.exitCode(), file.toString());
        CliRun latest = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--target-db", "hostile_copy");
        assertEquals(1, latest.exitCode(), "nothing restorable is left: " + latest);
        assertTrue(pg.query("postgres", "SELECT 1 FROM pg_database WHERE datname = 'hostile_copy'").isEmpty());
        assertTrue(Files.exists(outside.resolve("database.dump.zst")), "cleanup never follows a manifest outside");
        CliRun c = CliRun.run(pg.env(db), dir, "cleanup", "--repo", repo.toString(), "--keep-last", "0", "--retention-days", "0");
        assertTrue(Files.exists(outside.resolve("database.dump.zst")), c.toString());
    }

    @Test
    void noSequenceOfDamageAndCleanupLeavesNothingToRestore(PgCluster pg) throws Exception {
        String db = pg.createDatabase("survivor");
        pg.execute(db, "CREATE TABLE t (id int)");
        Path repo = dir.resolve("repo");
        String lastGood = null;
        for (int round = 1; round <= 4; round++) {
            pg.execute(db, "INSERT INTO t SELECT generate_series(1, 10)");
            String id = backup(pg, db, repo, dir);
            switch (round) {
                case 1 -> lastGood = id;
                case 2 -> flip(repo.resolve(id).resolve("database.dump.zst"));
                case 3 -> truncate(repo.resolve(id).resolve("database.dump.zst"));
                default -> Files.delete(repo.resolve(id).resolve("database.dump.zst"));
            }
            CliRun c = CliRun.run(pg.env(db), dir, "cleanup", "--repo", repo.toString(), "--keep-last", "1", "--retention-days", "0");
            assertNotEquals(64, c.exitCode(), c.toString());
            assertTrue(Files.isDirectory(repo.resolve(lastGood)), "round " + round + ": the only good backup survives: " + c);
        }
        pg.execute(db, "TRUNCATE t");
        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(lastGood, r.json().get("source").get("id").asText());
        assertEquals(10, count(pg, db, "t"));
    }

    @Test
    void whatAKilledCleanupLeftIsRemovedByTheNextCleanupOrBackup(PgCluster pg) throws Exception {
        String db = pg.createDatabase("killed_cleanup");
        pg.execute(db, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
        Path repo = dir.resolve("repo");
        String kept = backup(pg, db, repo, dir);
        // What Repository.delete leaves when killed between its rename and the end of the tree walk.
        Path half = Files.createDirectories(repo.resolve(".partial/.deleting-" + db + "_full_20200101_000000"));
        Files.writeString(half.resolve("database.dump.zst"), "half deleted");
        CliRun c = CliRun.run(pg.env(db), dir, "cleanup", "--repo", repo.toString(), "--keep-last", "5");
        assertEquals(0, c.exitCode(), c.toString());
        assertFalse(Files.exists(half), c.toString());
        assertTrue(c.out().contains("removed what an interrupted cleanup left: .partial/.deleting-" + db), c.toString());
        assertTrue(Files.isDirectory(repo.resolve(kept)));

        Files.createDirectories(half);
        backup(pg, db, repo, dir);
        assertFalse(Files.exists(half), "the next backup sweeps it too");
        // The lock names its holder's pid and start: private, like the rest of the repository.
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(repo.resolve(".locks"))));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(repo.resolve(".locks").resolve(Repository.safe(db) + ".lock"))));
    }

    @Test
    void databaseNamesMapToDistinctFileNames() {
        assertNotEquals(Repository.safe("日本"), Repository.safe("å,"));
        assertEquals("%E6%97%A5%E6%9C%AC", Repository.safe("日本"));
        assertEquals("my_db-1", Repository.safe("my_db-1"));
        for (String name : List.of("日本", "å,", "a b\"c", "x%41")) {
            assertEquals(name, Repository.unsafe(Repository.safe(name)));
        }
    }
}
