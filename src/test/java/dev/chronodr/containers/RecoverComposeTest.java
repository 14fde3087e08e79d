package dev.chronodr.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.DockerTest;

/**
 * {@code chrono-dr recover} on the Chrono Scraper compose deployment (PostgreSQL 15), one
 * project for the class, the failures made for real in the engine and the volume: the
 * database container killed, stopped with a stale postmaster.pid, and a table's file
 * overwritten. Outcomes are read in the engine (start times, states) and the database
 * (the rows), not only in the output. The order matters: each test starts from the state
 * the one before left, healthy again.
 */
@DockerTest(postgres = 15, app = true)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RecoverComposeTest {
    private ComposeDeployment deployment;
    private Path dir;
    private Path config;
    private Path emptyRepoConfig;
    private String seeded;

    @BeforeAll
    void up() throws Exception {
        dir = Files.createTempDirectory("chrono-dr-recover-");
        deployment = new ComposeDeployment(15);
        try {
            deployment.up();
            deployment.execute(ComposeDeployment.DB, """
                    CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL UNIQUE);
                    CREATE TABLE projects (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users, name text);
                    INSERT INTO users SELECT g, 'user' || g || '@example.org' FROM generate_series(1, 2000) g;
                    INSERT INTO projects (user_id, name) SELECT 1 + g % 2000, 'project ' || g FROM generate_series(1, 3000) g;
                    CHECKPOINT;
                    """);
            seeded = deployment.contentDigest(ComposeDeployment.DB);
            String target = """
                    default_target: chrono_scraper
                    targets:
                      chrono_scraper:
                        host: 127.0.0.1
                        port: %d
                        dbname: chrono_scraper
                        user: chrono_scraper
                        sslmode: disable
                        exec: compose
                        compose:
                          service: postgres
                          file: %s
                        repo: %s
                        critical_tables: [users, projects]
                        services:
                          stop: [backend, celery_worker, frontend]
                          start:
                            - {name: backend, wait_healthy: true, health_timeout_seconds: 60}
                            - {name: celery_worker, delay_seconds: 1, wait_healthy: true, health_timeout_seconds: 60}
                            - {name: frontend, delay_seconds: 1, wait_healthy: true, health_timeout_seconds: 60}
                        recover:
                          ready_timeout_seconds: 120
                          emergency_copy_dir: %s
                        smoke_tests:
                          - {name: users, sql: "SELECT id FROM users", min_rows: 2000, max_rows: 2000}
                          - {name: backend health, command: [docker-compose, -f, %s, exec, -T, backend, app-standin, health]}
                    """;
            config = Files.writeString(dir.resolve("chrono-dr.yaml"), target.formatted(deployment.port(), ComposeDeployment.FILE,
                    dir.resolve("repo"), dir.resolve("emergency"), ComposeDeployment.FILE));
            emptyRepoConfig = Files.writeString(dir.resolve("empty-repo.yaml"), target.formatted(deployment.port(), ComposeDeployment.FILE,
                    dir.resolve("empty-repo"), dir.resolve("emergency"), ComposeDeployment.FILE));
            CliRun b = chrono(config, "backup");
            assertEquals(0, b.exitCode(), b.toString());
        } catch (RuntimeException | Error e) {
            deployment.close();
            throw e;
        }
    }

    @AfterAll
    void down() throws Exception {
        if (deployment != null) {
            deployment.close();
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private CliRun chrono(Path configFile, String... args) {
        String[] all = Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--config";
        all[args.length + 1] = configFile.toString();
        return CliRun.run(deployment.env(), dir, all);
    }

    private static JsonNode step(JsonNode result, String name) {
        for (JsonNode s : result.get("steps")) {
            if (s.get("name").asText().equals(name)) {
                return s;
            }
        }
        return null;
    }

    private String docker(String... argv) {
        List<String> cmd = new java.util.ArrayList<>(List.of("docker"));
        cmd.addAll(List.of(argv));
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().putAll(deployment.env());
            Process p = pb.start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(2, TimeUnit.MINUTES) && p.exitValue() == 0, cmd + ": " + out);
            return out.strip();
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private boolean postgresRunning() {
        return docker("inspect", "--format", "{{.State.Running}}", deployment.postgresContainer()).equals("true");
    }

    private long preRestoreDatabases() {
        return Long.parseLong(deployment.scalar("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'chrono_scraper_pre_restore%'"));
    }

    private boolean emergencyCopies() throws IOException {
        Path e = dir.resolve("emergency");
        if (!Files.isDirectory(e)) {
            return false;
        }
        try (var l = Files.list(e)) {
            return l.findAny().isPresent();
        }
    }

    @Test
    @Order(1)
    void diagnoseOnAHealthyDeploymentSaysHealthyAndChangesNothing() {
        Instant started = deployment.startedAt("postgres");
        CliRun r = chrono(config, "recover", "--diagnose", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        JsonNode d = r.json().get("diagnosis");
        assertEquals("HEALTHY", d.get("verdict").asText(), d.toString());
        assertEquals("in production", d.get("cluster_state").asText(), d.toString());
        assertTrue(d.get("pg_is_ready").asText().contains("accepting connections"), d.toString());
        assertTrue(d.get("resources").toString().contains("container disk"), d.toString());
        assertEquals(1, r.json().get("steps").size(), "diagnose only");
        assertEquals(started, deployment.startedAt("postgres"), "nothing restarted");
    }

    @Test
    @Order(2)
    void aKilledDatabaseIsBroughtBackAndTheDependentsRunAgain() throws IOException {
        docker("kill", deployment.postgresContainer());
        CliRun diag = chrono(config, "recover", "--diagnose", "--format", "json");
        assertEquals(2, diag.exitCode(), diag.toString());
        JsonNode d = diag.json().get("diagnosis");
        assertEquals("DOWN_INTACT", d.get("verdict").asText(), d.toString());
        assertTrue(d.get("server").asText().contains("exited (exit code 137)"), d.toString());
        assertFalse(d.get("log_tail").isEmpty(), d.toString());
        assertFalse(postgresRunning(), "--diagnose changes nothing");

        // Another server takes the port the stopped container published, with a database of the same name and the same
        // password: its answer is not this deployment's health.
        LocalCluster other = impostorOnPort();
        try {
            CliRun taken = chrono(config, "recover", "--diagnose", "--format", "json");
            assertEquals(2, taken.exitCode(), taken.toString());
            JsonNode t = taken.json().get("diagnosis");
            assertEquals("DOWN_INTACT", t.get("verdict").asText(), t.toString());
            assertTrue(t.get("connect_error").asText().contains("a server that is not this one answers on port " + deployment.port()),
                    t.toString());
        } finally {
            other.remove();
        }

        Instant before = Instant.now();
        CliRun r = chrono(config, "recover", "--yes", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals("recovered", r.json().get("outcome").asText(), r.out());
        for (String s : List.of("stop dependents", "restart database", "wait for readiness", "integrity", "start dependents", "health report",
                "smoke tests")) {
            assertNotNull(step(r.json(), s), s + " in " + r.out());
            assertEquals("OK", step(r.json(), s).get("status").asText(), s + ": " + step(r.json(), s));
        }
        assertTrue(r.err().contains("start restart database"), "each step announced as it starts: " + r.err());
        assertTrue(postgresRunning());
        assertEquals(seeded, deployment.contentDigest(ComposeDeployment.DB), "the data survived the crash");
        for (String app : ComposeDeployment.APPS) {
            assertTrue(deployment.startedAt(app).isAfter(before), app + " restarted by recover");
        }
        deployment.waitHealthy(ComposeDeployment.APPS, Duration.ofSeconds(60));
        assertEquals("3", deployment.scalar(ComposeDeployment.DB, """
                SELECT count(DISTINCT application_name) FROM pg_stat_activity
                WHERE datname = 'chrono_scraper' AND application_name IN ('backend', 'celery_worker', 'frontend')"""),
                "the dependents hold their sessions again");
    }

    @Test
    @Order(3)
    void aStoppedDatabaseWithAStalePostmasterPidComesBack() throws Exception {
        deployment.compose("stop", "postgres");
        Path pid = Files.writeString(dir.resolve("postmaster.pid"), "4242\n/var/lib/postgresql/data\n1700000000\n5432\n");
        docker("cp", pid.toString(), deployment.postgresContainer() + ":/var/lib/postgresql/data/postmaster.pid");

        CliRun r = chrono(config, "recover", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        JsonNode d = r.json().get("diagnosis");
        assertEquals("DOWN_INTACT", d.get("verdict").asText(), d.toString());
        assertTrue(d.get("postmaster_pid").asText().contains("pid 4242"), d.toString());
        assertTrue(postgresRunning());
        assertEquals(seeded, deployment.contentDigest(ComposeDeployment.DB));
    }

    /** A throwaway cluster of this machine's PostgreSQL on the deployment's port, with its database and password. */
    private LocalCluster impostorOnPort() throws IOException {
        Path bin = dev.chronodr.pg.ServerBinaries.find(dev.chronodr.core.Environment.system(), 15)
                .or(() -> dev.chronodr.pg.ServerBinaries.find(dev.chronodr.core.Environment.system(), 17)).orElseThrow();
        Path base = Files.createTempDirectory("chrono-dr-impostor-");
        Files.setPosixFilePermissions(base, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        var runner = new dev.chronodr.process.ProcessRunner(Map.copyOf(System.getenv()));
        LocalCluster c = LocalCluster.create(base.resolve("pg"), bin, dev.chronodr.core.Secret.of(deployment.env().get("PGPASSWORD")),
                new LocalCluster.Options(deployment.port(), true, Map.of()), runner);
        c.start();
        c.execute("postgres", "CREATE ROLE chrono_scraper LOGIN SUPERUSER PASSWORD '"
                + deployment.env().get("PGPASSWORD").replace("'", "''") + "'"); // the deployment's login, as the config names it
        c.createDatabase(ComposeDeployment.DB);
        c.execute(ComposeDeployment.DB, "CREATE TABLE users (id int)");
        return c;
    }

    /** Overwrites the first page of the users table in the volume while the server is stopped, then starts it. */
    private void damageUsersTable() throws IOException {
        String file = deployment.scalar(ComposeDeployment.DB, "SELECT pg_relation_filepath('users')");
        String container = deployment.postgresContainer();
        String volume = docker("inspect", "--format",
                "{{range .Mounts}}{{if eq .Destination \"/var/lib/postgresql/data\"}}{{.Source}}{{end}}{{end}}", container);
        deployment.compose("stop", "postgres");
        try (RandomAccessFile f = new RandomAccessFile(Path.of(volume, file).toFile(), "rw")) {
            byte[] junk = new byte[8192];
            Arrays.fill(junk, (byte) 0x5A);
            f.seek(0);
            f.write(junk);
            f.getFD().sync();
        }
        deployment.compose("up", "-d", "postgres");
        deployment.waitHealthy(List.of("postgres"), Duration.ofSeconds(60));
    }

    @Test
    @Order(4)
    void corruptionWithoutConfirmationStopsWith64AndChangesNothing() throws Exception {
        damageUsersTable();
        Instant started = deployment.startedAt("postgres");
        Instant backend = deployment.startedAt("backend");

        CliRun r = chrono(config, "recover", "--format", "json");
        assertEquals(64, r.exitCode(), r.toString());
        assertEquals("CRITICAL", step(r.json(), "integrity").get("status").asText(), r.out());
        assertTrue(step(r.json(), "integrity").toString().contains("heap"), r.out());
        assertEquals("confirmation", r.json().get("failed_step").asText(), r.out());
        assertEquals(started, deployment.startedAt("postgres"), "the database was not restarted");
        assertEquals(backend, deployment.startedAt("backend"), "the dependents were not stopped");
        assertEquals(0, preRestoreDatabases(), "nothing restored");
        assertFalse(emergencyCopies(), "no copy made");
    }

    @Test
    @Order(5)
    void withoutAGoodBackupItStopsBeforeChangingAnything() throws Exception {
        Instant started = deployment.startedAt("postgres");
        Instant backend = deployment.startedAt("backend");
        CliRun r = chrono(emptyRepoConfig, "recover", "--yes", "--format", "json");
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals("newest good backup", r.json().get("failed_step").asText(), r.out());
        assertTrue(r.json().get("next_steps").toString().contains("chrono-dr verify --all-backups"), r.out());
        assertEquals(started, deployment.startedAt("postgres"));
        assertEquals(backend, deployment.startedAt("backend"));
        assertEquals(0, preRestoreDatabases());
        assertFalse(emergencyCopies());
    }

    @Test
    @Order(6)
    void corruptionIsReplacedByTheNewestGoodBackupAfterAnEmergencyCopy() throws Exception {
        Path report = dir.resolve("recover-report.json");
        CliRun r = chrono(config, "recover", "--yes", "--report", report.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("restored from backup"), r.out());
        assertEquals(seeded, deployment.contentDigest(ComposeDeployment.DB), "the rows are the backup's");
        assertEquals(1, preRestoreDatabases(), "the damaged database is kept");
        Path copy;
        try (var l = Files.list(dir.resolve("emergency"))) {
            copy = l.findFirst().orElseThrow();
        }
        assertTrue(Files.exists(copy.resolve("PG_VERSION")) && Files.isDirectory(copy.resolve("base")), "a whole data directory: " + copy);

        JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(report.toFile());
        for (String s : List.of("integrity", "newest good backup", "confirmation", "stop dependents", "emergency copy", "restore",
                "verify restored", "start dependents", "health report", "smoke tests")) {
            assertNotNull(step(json, s), s + " in the report: " + json);
        }
        assertTrue(json.get("rto_millis").asLong() > 0 && json.has("total_millis"), json.toString());
        deployment.waitHealthy(ComposeDeployment.APPS, Duration.ofSeconds(60));
    }
}
