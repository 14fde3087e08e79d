package dev.chronodr.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.DockerTest;

/**
 * chrono-dr against a real docker compose deployment shaped like Chrono Scraper's
 * (src/test/docker/compose): PostgreSQL with a named volume and three application
 * services that hold sessions. The tools run in the database's container through
 * docker-compose (v1 here) and docker exec; outcomes are checked in the database and the
 * engine, not in the output alone. One project per class, removed with down -v after it.
 * Subclasses pick the PostgreSQL major version.
 */
@DockerTest(postgres = {15, 17}, app = true)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class ChronoScraperComposeTest {
    private ComposeDeployment deployment;
    private Path dir;
    private Path config;
    private String seeded;

    abstract int major();

    @BeforeAll
    void up() throws Exception {
        dir = Files.createTempDirectory("chrono-dr-compose-");
        deployment = new ComposeDeployment(major());
        try {
            deployment.up();
            deployment.execute(ComposeDeployment.DB, """
                    CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL UNIQUE);
                    CREATE TABLE projects (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users, name text);
                    INSERT INTO users SELECT g, 'user' || g || '@example.org' FROM generate_series(1, 2000) g;
                    INSERT INTO projects (user_id, name) SELECT 1 + g % 2000, 'project ' || g FROM generate_series(1, 3000) g;
                    """);
            seeded = deployment.contentDigest(ComposeDeployment.DB);
            config = Files.writeString(dir.resolve("chrono-dr.yaml"), """
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
                    """.formatted(deployment.port(), ComposeDeployment.FILE, dir.resolve("repo")));
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

    private CliRun chrono(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--config";
        all[args.length + 1] = config.toString();
        return CliRun.run(deployment.env(), dir, all);
    }

    @Test
    @Order(1)
    void checkRunsTheToolsInTheServiceThroughDockerComposeV1() {
        CliRun r = chrono("check");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("in compose service postgres (through docker-compose, compose v1)"), r.out());
        assertTrue(r.out().contains("PostgreSQL " + major() + "."), r.out());
    }

    @Test
    @Order(2)
    void logicalBackupThenRestoreStopsAndStartsTheServicesInOrder() {
        CliRun b = chrono("backup");
        assertEquals(0, b.exitCode(), b.toString());

        deployment.execute(ComposeDeployment.DB, "DELETE FROM projects WHERE id > 10; UPDATE users SET email = 'lost-' || id");
        assertNotEquals(seeded, deployment.contentDigest(ComposeDeployment.DB));
        java.time.Instant before = java.time.Instant.now();

        CliRun r = chrono("restore", "--latest", "--yes");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(seeded, deployment.contentDigest(ComposeDeployment.DB), "the data is the backup's again");
        assertTrue(r.out().contains("stopped backend, celery_worker, frontend (docker-compose stop)"), r.out());
        assertTrue(r.out().contains("started backend, healthy"), "the health wait works with compose v1: " + r.out());

        // The engine says it: each service was restarted, in the configured order, and is healthy
        // with its session open on the restored database.
        java.time.Instant backend = deployment.startedAt("backend");
        java.time.Instant worker = deployment.startedAt("celery_worker");
        java.time.Instant frontend = deployment.startedAt("frontend");
        assertTrue(backend.isAfter(before), "backend restarted: " + backend + " vs " + before);
        assertTrue(worker.isAfter(backend.plusMillis(900)), "celery_worker at least 1 s after backend: " + backend + " " + worker);
        assertTrue(frontend.isAfter(worker.plusMillis(900)), "frontend at least 1 s after celery_worker: " + worker + " " + frontend);
        deployment.waitHealthy(ComposeDeployment.APPS, java.time.Duration.ofSeconds(60));
        assertEquals("3", deployment.scalar(ComposeDeployment.DB, """
                SELECT count(DISTINCT application_name) FROM pg_stat_activity
                WHERE datname = 'chrono_scraper' AND application_name IN ('backend', 'celery_worker', 'frontend')"""));
    }

    @Test
    @Order(3)
    void verifyVacuumAndAuditRunAgainstTheContainer() {
        CliRun v = chrono("verify", "--format", "json");
        assertEquals(0, v.exitCode(), v.toString());
        JsonNode checks = v.json().get("checks");
        assertTrue(checks.toString().contains("\"btree\""), checks.toString());

        deployment.execute(ComposeDeployment.DB, "DELETE FROM projects WHERE id % 2 = 0");
        CliRun vac = chrono("vacuum", "--format", "json");
        assertEquals(0, vac.exitCode(), vac.toString());
        // The services keep their sessions open, idle, as an application's pool does: VACUUM can remove the rows.
        assertEquals("0", deployment.scalar(ComposeDeployment.DB,
                "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'projects'"), "vacuum removed the dead rows");

        // The image listens on every address with ssl off: warnings, not criticals (exit 1).
        CliRun a = chrono("audit", "--format", "json");
        assertEquals(1, a.exitCode(), a.toString());
        assertTrue(a.json().get("findings").toString().contains("TLS-OFF"), a.out());
    }

    @Test
    @Order(4)
    void monitorMeasuresTheDiskInsideTheContainer() {
        CliRun m = chrono("monitor", "--format", "json");
        assertEquals(0, m.exitCode(), m.toString());
        JsonNode disk = null;
        for (JsonNode c : m.json().get("checks")) {
            if ("disk".equals(c.get("name").asText())) {
                disk = c;
            }
        }
        assertTrue(disk != null, m.out());
        assertEquals("OK", disk.get("status").asText(), disk.toString());
        assertTrue(disk.toString().contains("/var/lib/postgresql/data"), disk.toString());
    }

    @Test
    @Order(5)
    void theDrillPassesThroughCompose() {
        CliRun r = chrono("dr-test", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        boolean schema = false;
        for (JsonNode s : r.json().get("steps")) {
            if ("schema".equals(s.get("name").asText())) {
                schema = true;
                assertEquals("PASSED", s.get("outcome").asText(), s.toString());
            }
        }
        assertTrue(schema, r.out());
    }

    @Test
    @Order(6)
    void dockerExecModeBacksUpAndRestoresBesideTheLiveDatabase() {
        String container = deployment.postgresContainer();
        CliRun b = chrono("backup", "--exec", "docker", "--container", container);
        assertEquals(0, b.exitCode(), b.toString());
        CliRun r = chrono("restore", "--exec", "docker", "--container", container, "--latest", "--target-db", "chrono_copy");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(deployment.contentDigest(ComposeDeployment.DB), deployment.contentDigest("chrono_copy"));
    }
}
