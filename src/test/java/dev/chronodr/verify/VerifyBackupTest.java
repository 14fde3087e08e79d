package dev.chronodr.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** verify --backup / --latest-backup / --all-backups, and the critical tables' row counts against the latest manifest. */
@PostgresTest
class VerifyBackupTest {
    @TempDir
    Path dir;

    private String backup(Map<String, String> env, Path repo) throws InterruptedException {
        CliRun r = CliRun.run(env, dir, "backup", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        Thread.sleep(1100); // ids have one-second resolution
        return r.json().at("/manifest/id").asText();
    }

    @Test
    void truncatedAndFlippedBackupsAreCaught(PgCluster pg) throws Exception {
        String db = pg.createDatabase("vb");
        pg.execute(db, "CREATE TABLE t (id int, body text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        Map<String, String> env = pg.env(db);
        Path repo = dir.resolve("repo");
        String good = backup(env, repo);
        String truncated = backup(env, repo);
        String flipped = backup(env, repo);

        CliRun ok = CliRun.run(env, dir, "verify", "--repo", repo.toString(), "--backup", good);
        assertEquals(0, ok.exitCode(), ok.toString());

        Path t = repo.resolve(truncated).resolve("database.dump.zst");
        try (RandomAccessFile f = new RandomAccessFile(t.toFile(), "rw")) {
            f.setLength(f.length() - 100);
        }
        Path g = repo.resolve(flipped).resolve("database.dump.zst");
        byte[] bytes = Files.readAllBytes(g);
        bytes[bytes.length / 3] ^= 0x40;
        Files.write(g, bytes);

        CliRun one = CliRun.run(env, dir, "verify", "--repo", repo.toString(), "--backup", truncated);
        assertEquals(2, one.exitCode(), one.toString());
        assertTrue(one.out().contains("truncated or replaced"), one.out());

        CliRun latest = CliRun.run(env, dir, "verify", "--repo", repo.toString(), "--latest-backup", "--format", "json");
        assertEquals(2, latest.exitCode(), latest.toString());
        assertTrue(latest.out().contains("does not match the manifest"), latest.out());

        CliRun all = CliRun.run(env, dir, "verify", "--repo", repo.toString(), "--all-backups", "--format", "json");
        assertEquals(2, all.exitCode());
        JsonNode check = all.json().get("checks").get(0);
        assertEquals(3, check.get("checked").asInt());
        assertEquals(2, check.get("findings").size());

        CliRun unknown = CliRun.run(env, dir, "verify", "--repo", repo.toString(), "--backup", "nope");
        assertEquals(64, unknown.exitCode(), unknown.toString());
        CliRun both = CliRun.run(env, dir, "verify", "--repo", repo.toString(), "--backup", good, "--all-backups");
        assertEquals(64, both.exitCode());
    }

    @Test
    void largeDropInACriticalTableIsFlagged(PgCluster pg) throws Exception {
        String db = pg.createDatabase("drop_rows");
        pg.execute(db, "CREATE TABLE pages (id int); INSERT INTO pages SELECT generate_series(1, 1000);"
                + "CREATE TABLE users (id int); INSERT INTO users SELECT generate_series(1, 100)");
        Path repo = dir.resolve("repo2");
        Path config = Files.writeString(dir.resolve("c.yaml"), """
                targets:
                  app:
                    host: 127.0.0.1
                    port: %d
                    dbname: %s
                    user: postgres
                    repo: %s
                    critical_tables: [pages, users]
                """.formatted(pg.port(), db, repo));
        Map<String, String> env = new HashMap<>(pg.env(db));
        env.keySet().removeIf(k -> !k.equals("PGPASSWORD") && k.startsWith("PG"));
        CliRun b = CliRun.run(env, dir, "backup", "--config", config.toString());
        assertEquals(0, b.exitCode(), b.toString());

        pg.execute(db, "DELETE FROM pages WHERE id > 400; DELETE FROM users WHERE id > 85");
        CliRun r = CliRun.run(env, dir, "verify", "--config", config.toString(), "--only", "critical-row-counts", "--format", "json");
        assertEquals(2, r.exitCode(), r.toString());
        JsonNode findings = r.json().get("checks").get(r.json().get("checks").size() - 1).get("findings");
        assertEquals(2, findings.size(), findings.toString());
        assertEquals("CRITICAL", findings.get(0).get("status").asText());
        assertEquals(600, findings.get(0).get("count").asLong());
        assertEquals("WARNING", findings.get(1).get("status").asText());
    }
}
