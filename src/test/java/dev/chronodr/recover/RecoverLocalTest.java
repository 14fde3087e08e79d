package dev.chronodr.recover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * recover with --exec local on a throwaway cluster: the postmaster killed (SIGKILL, its
 * postmaster.pid left behind), then brought back by pg_ctl as the postgres OS user, the rows
 * intact, a smoke test and a failing one reported.
 */
@PostgresTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RecoverLocalTest {
    private static final String DB = "recover_app";

    @Test
    @Order(1)
    void aKilledLocalServerIsRestartedAndItsSmokeTestsReported(PgCluster pg, @TempDir Path dir) throws Exception {
        assumeTrue(pg.isLocal(), "needs a cluster on this machine (pg_ctl, its data directory)");
        LocalTargets.usersThatSurviveACrash(pg, DB);
        Path config = Files.writeString(dir.resolve("c.yaml"), """
                targets:
                  app:
                    host: 127.0.0.1
                    port: %d
                    dbname: %s
                    user: postgres
                    exec: local
                    repo: %s
                    critical_tables: [users]
                    recover:
                      data_directory: %s
                      log_file: %s
                      ready_timeout_seconds: 90
                    smoke_tests:
                      - {name: users, sql: "SELECT id FROM users", min_rows: 500, max_rows: 500}
                      - {name: true exits 0, command: ["true"]}
                      - {name: false exits 0, command: ["false"]}
                """.formatted(pg.port(), DB, dir.resolve("repo"), pg.dataDir(), pg.assumeLocal().logFile()));
        Map<String, String> env = LocalTargets.passwordOnly(pg, DB);
        assertEquals(0, CliRun.run(env, dir, "backup", "--config", config.toString()).exitCode());

        pg.kill9();
        assertTrue(Files.exists(pg.dataDir().resolve("postmaster.pid")), "SIGKILL leaves the lock file");

        CliRun r = CliRun.run(env, dir, "recover", "--config", config.toString(), "--format", "json");
        // The database is back and sound; the one failing smoke test makes it exit 1, named.
        assertEquals(1, r.exitCode(), r.toString());
        JsonNode json = r.json();
        assertEquals("smoke tests", json.get("failed_step").asText(), r.out());
        JsonNode d = json.get("diagnosis");
        assertEquals("DOWN_INTACT", d.get("verdict").asText(), d.toString());
        assertTrue(d.get("postmaster_pid").asText().contains("stale"), d.toString());
        assertEquals("in production", d.get("cluster_state").asText(), "killed without a shutdown checkpoint: " + d);
        assertEquals(500L, ((Number) pg.scalar(DB, "SELECT count(*) FROM users")).longValue(), "the server is back with its rows");
        String smoke = null;
        for (JsonNode s : json.get("steps")) {
            if (s.get("name").asText().equals("smoke tests")) {
                smoke = s.toString();
            }
        }
        assertTrue(smoke != null && smoke.contains("PASS users: 500 rows") && smoke.contains("PASS true exits 0")
                && smoke.contains("FAIL false exits 0: exit 1, expected 0"), smoke);
        assertFalse(json.get("changed").isEmpty(), json.toString());

        // The drill's report sets this recovery against the RTO: it was kept in the repository.
        CliRun drill = CliRun.run(env, dir, "dr-test", "--config", config.toString(), "--format", "json");
        assertEquals(0, drill.exitCode(), drill.toString());
        JsonNode last = drill.json().get("last_recover");
        assertTrue(last != null && !last.isNull(), drill.out());
        assertEquals(json.get("total_millis").asLong() / 1000, last.get("measured_seconds").asLong(), last.toString());
        assertEquals(30 * 60, last.get("target_seconds").asLong(), last.toString());
        assertTrue(last.get("met").asBoolean(), last.toString());
        assertTrue(last.get("what").asText().startsWith("took ") && last.get("what").asText().contains("against an RTO of 30 min"),
                last.toString());
        // A read-only run keeps nothing: the drill still shows the same recovery
        assertEquals(0, CliRun.run(env, dir, "recover", "--config", config.toString(), "--diagnose").exitCode());
        try (var records = Files.list(dir.resolve("repo").resolve(".recover"))) {
            assertEquals(1, records.filter(p -> p.toString().endsWith(".json")).count(), "one record: the recovery, not the diagnosis");
        }
    }

    @Test
    @Order(2)
    void noRoomForTheEmergencyCopyStopsBeforeTheRestoreAndKeepsTheDamagedDatabase(PgCluster pg, @TempDir Path dir) throws Exception {
        assumeTrue(pg.isLocal(), "needs a cluster on this machine (its data directory)");
        Path tiny = Files.createDirectory(dir.resolve("tiny"));
        assumeTrue(new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", tiny.toString()).start().waitFor() == 0,
                "needs to mount a 1 MB tmpfs (root)");
        try {
            String db = "recover_damaged";
            LocalTargets.usersThatSurviveACrash(pg, db);
            Path config = Files.writeString(dir.resolve("c.yaml"), """
                    targets:
                      app:
                        host: 127.0.0.1
                        port: %d
                        dbname: %s
                        user: postgres
                        exec: local
                        repo: %s
                        critical_tables: [users]
                        recover: {data_directory: %s, log_file: %s, emergency_copy_dir: %s}
                    """.formatted(pg.port(), db, dir.resolve("repo"), pg.dataDir(), pg.assumeLocal().logFile(), tiny));
            Map<String, String> env = LocalTargets.passwordOnly(pg, db);
            assertEquals(0, CliRun.run(env, dir, "backup", "--config", config.toString()).exitCode());

            Path file = pg.dataDir().resolve(pg.scalar(db, "SELECT pg_relation_filepath('users')").toString());
            pg.stop();
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
                byte[] junk = new byte[8192];
                java.util.Arrays.fill(junk, (byte) 0x5A);
                f.write(junk);
            }
            pg.start();

            CliRun r = CliRun.run(env, dir, "recover", "--yes", "--config", config.toString(), "--format", "json");
            assertEquals(2, r.exitCode(), r.toString());
            JsonNode json = r.json();
            assertEquals("emergency copy", json.get("failed_step").asText(), r.out());
            assertTrue(r.out().contains("not enough space for the emergency copy"), r.out());
            assertTrue(json.get("left_as_it_was").toString().contains("as it was (damaged)"), r.out());
            assertEquals(0L, ((Number) pg.scalar("postgres",
                    "SELECT count(*) FROM pg_database WHERE datname LIKE 'recover_damaged_pre_restore%'")).longValue(), "nothing restored");
            assertEquals(1L, ((Number) pg.scalar(db, "SELECT 1")).longValue(), "the server still runs: the copy was refused before stopping it");
            try (var l = Files.list(tiny)) {
                assertEquals(0, l.count(), "nothing written to the full filesystem");
            }
        } finally {
            new ProcessBuilder("umount", tiny.toString()).start().waitFor();
        }
    }
}
