package dev.chronodr.containers;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.chronodr.testing.DockerEngine;

/**
 * The Chrono Scraper-shaped compose project of src/test/docker/compose, under a unique
 * project name, driven with docker-compose (v1, what this machine has) as a user would.
 * {@link #env()} is the environment chrono-dr runs with: compose's variables (so its own
 * compose calls find the same project) and PGPASSWORD.
 */
final class ComposeDeployment implements AutoCloseable {
    static final Path FILE = Path.of("src/test/docker/compose/docker-compose.yml").toAbsolutePath();
    static final List<String> APPS = List.of("backend", "celery_worker", "frontend");
    static final String DB = "chrono_scraper";
    static final String USER = "chrono_scraper";

    private final String project;
    private final int port;
    private final String password;
    private final Map<String, String> env;

    ComposeDeployment(int major) {
        this.project = "chronodr" + major + "x" + Long.toString(System.nanoTime() % 1_000_000_000L, 36);
        this.port = dev.chronodr.sandbox.LocalCluster.freePort();
        this.password = "pw-" + Long.toString(System.nanoTime(), 36);
        Map<String, String> e = new HashMap<>(System.getenv());
        e.put("COMPOSE_PROJECT_NAME", project);
        e.put("POSTGRES_PASSWORD", password);
        e.put("PG_PORT", String.valueOf(port));
        e.put("PG_IMAGE", DockerEngine.postgresImage(major));
        e.put("PGPASSWORD", password);
        e.remove("PGHOST");
        e.remove("PGPORT");
        e.remove("PGUSER");
        e.remove("PGDATABASE");
        this.env = Map.copyOf(e);
    }

    Map<String, String> env() {
        return env;
    }

    int port() {
        return port;
    }

    /** The database container's name, for --exec docker. */
    String postgresContainer() {
        return containerId("postgres");
    }

    /** up -d, then wait until every service reports healthy (bounded). */
    void up() {
        compose("up", "-d");
        waitHealthy(List.of("postgres", "backend", "celery_worker", "frontend"), Duration.ofSeconds(120));
    }

    void waitHealthy(List<String> services, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (String s : services) {
            while (!"healthy".equals(health(s))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(s + " not healthy after " + timeout + ": " + health(s) + "\n" + compose("logs", "--tail", "30", s));
                }
                sleep(500);
            }
        }
    }

    String health(String service) {
        String id = containerId(service);
        return id.isEmpty() ? "" : run(List.of("docker", "inspect", "--format",
                "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", id)).strip();
    }

    /** When the service's container last started (RFC 3339, nanoseconds: sortable as an instant). */
    java.time.Instant startedAt(String service) {
        return java.time.Instant.parse(run(List.of("docker", "inspect", "--format", "{{.State.StartedAt}}", containerId(service))).strip());
    }

    String containerId(String service) {
        return compose("ps", "-q", service).strip();
    }

    String compose(String... words) {
        List<String> argv = new java.util.ArrayList<>(List.of("docker-compose", "-f", FILE.toString()));
        argv.addAll(List.of(words));
        return run(argv);
    }

    private String run(List<String> argv) {
        try {
            ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
            pb.environment().clear();
            pb.environment().putAll(env);
            Process p = pb.start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new AssertionError(argv + " failed: " + new String(out, StandardCharsets.UTF_8));
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError(argv + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    Connection connect(String dbname) throws SQLException {
        java.util.Properties p = new java.util.Properties();
        p.setProperty("user", USER);
        p.setProperty("password", password);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + dbname, p);
    }

    void execute(String dbname, String sql) {
        try (Connection c = connect(dbname); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    String scalar(String dbname, String sql) {
        try (Connection c = connect(dbname); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    /** The seeded tables' content, as one digest to compare before and after. */
    String contentDigest(String dbname) {
        return scalar(dbname, """
                SELECT md5((SELECT string_agg(u::text, ',' ORDER BY id) FROM users u)
                        || '|' || (SELECT string_agg(p::text, ',' ORDER BY id) FROM projects p)
                        || '|' || (SELECT last_value::text FROM projects_id_seq))""");
    }

    /** docker-compose down -v: containers, network and the named volume. */
    @Override
    public void close() {
        try {
            compose("down", "-v", "--remove-orphans", "-t", "5");
        } catch (AssertionError e) {
            System.err.println("could not tear down compose project " + project + ": " + e.getMessage());
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
