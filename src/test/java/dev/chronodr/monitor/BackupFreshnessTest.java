package dev.chronodr.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.OffsetDateTime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.chronodr.core.Json;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

@PostgresTest
class BackupFreshnessTest {
    @TempDir
    Path dir;

    private JsonNode freshness(PgCluster pg, String db, Path repo, String... more) {
        String[] base = {"monitor", "--check", "backup_freshness", "--repo", repo.toString(), "--format", "json"};
        String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(more)).toArray(String[]::new);
        CliRun r = CliRun.run(pg.env(db), dir, args);
        JsonNode checks = r.json().get("checks");
        for (JsonNode c : checks) {
            if (c.get("name").asText().equals("backup_freshness")) {
                return c;
            }
        }
        throw new AssertionError("no backup_freshness in " + r);
    }

    private static void age(Path backupDir, int hours) throws Exception {
        Path manifest = backupDir.resolve("manifest.json");
        ObjectNode m = (ObjectNode) Json.mapper().readTree(manifest.toFile());
        m.put("finished_at", OffsetDateTime.now().minusHours(hours).toString());
        Json.mapper().writeValue(manifest.toFile(), m);
    }

    @Test
    void ageOfTheNewestBackupAgainstTheSchedule(PgCluster pg) throws Exception {
        String db = pg.createDatabase("fresh");
        pg.execute(db, "CREATE TABLE t (id int)");
        Path repo = dir.resolve("repo");
        assertEquals("SKIPPED", freshness(pg, db, repo).get("status").asText(), "no repository here: nothing to judge");
        java.nio.file.Files.createDirectories(repo);
        JsonNode none = freshness(pg, db, repo);
        assertEquals("CRITICAL", none.get("status").asText(), none.toString());
        assertTrue(none.get("message").asText().startsWith("no backup of fresh"), none.toString());

        CliRun b = CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, b.exitCode(), b.toString());
        Path backup = Path.of(b.json().get("path").asText());
        assertEquals("OK", freshness(pg, db, repo).get("status").asText());
        age(backup, 30);
        assertEquals("WARNING", freshness(pg, db, repo).get("status").asText());
        age(backup, 60);
        assertEquals("CRITICAL", freshness(pg, db, repo).get("status").asText());
        assertEquals("OK", freshness(pg, db, repo, "--warning", "backup_age=3d", "--critical", "backup_age=4d").get("status").asText());

        // A database that is down still gets its backup judged.
        int closed = LocalCluster.freePort();
        JsonNode down = freshness(pg, db, repo, "-p", String.valueOf(closed), "--check", "connection");
        assertEquals("CRITICAL", down.get("status").asText(), "60 hours old, whatever the server's state");
    }
}
