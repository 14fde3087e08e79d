package dev.chronodr.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** Checkpoints forced by WAL volume, on a real server: judged only once there are enough, then by the thresholds. */
@PostgresTest
class CheckpointsCheckTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    CheckpointsCheckTest(PgCluster pg) {
        this.pg = pg;
    }

    private JsonNode check(String db, String... thresholds) {
        String[] args = new String[4 + thresholds.length];
        args[0] = "monitor";
        args[1] = "--check";
        args[2] = "checkpoints";
        args[3] = "--format=json";
        System.arraycopy(thresholds, 0, args, 4, thresholds.length);
        CliRun r = CliRun.run(pg.env(db), dir, args);
        for (JsonNode c : r.json().get("checks")) {
            if (c.get("name").asText().equals("checkpoints")) {
                return c;
            }
        }
        throw new AssertionError("no checkpoints check in " + r);
    }

    @Test
    void requestedCheckpointsAreJudgedAgainstTheThresholds() {
        String db = pg.createDemoDatabase("checkpoints");
        JsonNode before = check(db);
        long requestedBefore = before.get("items").get(0).get("requested").asLong();
        long timed = before.get("items").get(0).get("timed").asLong();
        assertEquals("pg_stat_bgwriter", before.get("items").get(0).get("source").asText(), "PostgreSQL 15 keeps them there");

        for (int i = 0; i < CheckpointsCheck.MIN_CHECKPOINTS; i++) {
            pg.execute(db, "CREATE TABLE IF NOT EXISTS chk(i int); INSERT INTO chk VALUES (" + i + "); CHECKPOINT");
        }
        JsonNode after = check(db);
        long requested = after.get("items").get(0).get("requested").asLong();
        assertTrue(requested >= requestedBefore + CheckpointsCheck.MIN_CHECKPOINTS, after.toString());
        double pct = 100.0 * requested / (requested + after.get("items").get(0).get("timed").asLong());
        assertTrue(pct > 60, "a fresh server has few timed checkpoints (" + timed + "): " + after);
        assertEquals("CRITICAL", after.get("status").asText(), after.toString());
        assertTrue(after.get("message").asText().contains("raise max_wal_size (now "), after.toString());

        // The thresholds decide: critical above the share, warning below it
        JsonNode relaxed = check(db, "--warning", "requested_checkpoints=50", "--critical", "requested_checkpoints=101");
        assertEquals("WARNING", relaxed.get("status").asText(), relaxed.toString());
    }
}
