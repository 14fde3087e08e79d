package dev.chronodr.recover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.process.ProcessRunner;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * The killed server's port taken by another server before recover restarts it: the other
 * server answers, with a database of the same name. recover must not take its answer for the
 * restarted server's, nor check or restore into it.
 */
@PostgresTest
class RecoverPortTakenTest {
    private static final String DB = "recover_app";

    @Test
    void aServerThatTookThePortIsNotTakenForTheOneRestarted(PgCluster pg, @TempDir Path dir) throws Exception {
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
                      emergency_copy_dir: %s
                      ready_timeout_seconds: 12
                """.formatted(pg.port(), DB, dir.resolve("repo"), pg.dataDir(), pg.assumeLocal().logFile(), dir.resolve("copies")));
        Map<String, String> env = LocalTargets.passwordOnly(pg, DB);
        assertEquals(0, CliRun.run(env, dir, "backup", "--config", config.toString()).exitCode());

        pg.kill9();
        ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
        Path otherBase = Files.createTempDirectory("chrono-dr-port-taken-");
        Files.setPosixFilePermissions(otherBase, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x")); // the postgres OS user runs it
        LocalCluster other = LocalCluster.create(otherBase.resolve("pg"), pg.binDir(), pg.password(),
                new LocalCluster.Options(pg.port(), true, Map.of()), runner);
        try {
            other.start();
            other.createDatabase(DB);
            other.execute(DB, "CREATE TABLE users (id int PRIMARY KEY); INSERT INTO users VALUES (1), (2), (3)");

            CliRun r = CliRun.run(env, dir, "recover", "--config", config.toString(), "--format", "json");
            assertEquals(2, r.exitCode(), r.toString());
            JsonNode json = r.json();
            assertEquals("DOWN_INTACT", json.get("diagnosis").get("verdict").asText(), "the other server's answer is not health: " + r.out());
            assertEquals("wait for readiness", json.get("failed_step").asText(), r.out());
            assertTrue(r.out().contains("a server that is not this one answers on port " + pg.port()), r.out());
            assertFalse(r.out().contains("\"integrity\""), "no integrity check against the other server: " + r.out());
            try (var c = java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + pg.port() + "/" + DB, "postgres",
                    pg.password().reveal()); var s = c.createStatement(); var rs = s.executeQuery("SELECT count(*) FROM users")) {
                rs.next();
                assertEquals(3, rs.getLong(1), "the other server's table untouched");
            }
        } finally {
            other.remove();
            Files.deleteIfExists(otherBase);
        }
        pg.startAfterCrash();
        assertEquals(500L, ((Number) pg.scalar(DB, "SELECT count(*) FROM users")).longValue(), "the restarted server's rows, intact");
    }

    @Test
    void aHealthyHotStandbyIsDiagnosedHealthy(PgCluster pg, @TempDir Path dir) throws Exception {
        assumeTrue(pg.isLocal() && dev.chronodr.pg.ServiceUser.isRoot(), "a standby on this machine, run as the postgres OS user");
        Path base = Files.createTempDirectory("chrono-dr-standby-");
        Files.setPosixFilePermissions(base, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        Path data = base.resolve("data");
        int port = LocalCluster.freePort();
        new ProcessRunner(pg.env("postgres")).run(dev.chronodr.process.ProcessSpec.of(pg.binDir().resolve("pg_basebackup").toString(),
                "-h", "127.0.0.1", "-p", String.valueOf(pg.port()), "-U", "postgres", "-D", data.toString(), "-R", "-X", "stream", "--no-sync"));
        Files.writeString(data.resolve("postgresql.auto.conf"), "port = " + port + "\nunix_socket_directories = '" + base + "'\n",
                java.nio.file.StandardOpenOption.APPEND);
        Files.setPosixFilePermissions(data, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        dev.chronodr.pg.ServiceUser.handOver(base);
        ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
        String pgCtl = pg.binDir().resolve("pg_ctl").toString();
        dev.chronodr.pg.ServiceUser.run(runner, java.util.List.of(pgCtl, "-D", data.toString(), "-l", base.resolve("log").toString(), "-w",
                "start"), base, java.time.Duration.ofSeconds(90));
        try {
            Path config = Files.writeString(dir.resolve("standby.yaml"), """
                    targets:
                      standby:
                        host: 127.0.0.1
                        port: %d
                        dbname: postgres
                        user: postgres
                        exec: local
                        repo: %s
                        recover:
                          data_directory: %s
                          log_file: %s
                    """.formatted(port, dir.resolve("repo"), data, base.resolve("log")));
            Map<String, String> env = LocalTargets.passwordOnly(pg, "postgres");
            CliRun r = CliRun.run(env, dir, "recover", "--config", config.toString(), "--diagnose", "--format", "json");
            assertEquals(0, r.exitCode(), "postmaster.pid says standby, not ready: still this server, healthy: " + r);
            assertEquals("HEALTHY", r.json().get("diagnosis").get("verdict").asText(), r.out());
        } finally {
            dev.chronodr.pg.ServiceUser.run(runner, java.util.List.of(pgCtl, "-D", data.toString(), "-m", "immediate", "-w", "stop"), base,
                    java.time.Duration.ofSeconds(60));
            try (var walk = Files.walk(base)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
