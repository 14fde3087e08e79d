package dev.chronodr.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Json;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.repo.RepoLocation;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * {@code monitor --listen}: the listener started in-process on a port the system picks,
 * scraped over HTTP, against one cluster that the last test stops and starts.
 */
@PostgresTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MonitorListenTest {
    private static final String DB = "listen";
    private static final List<String> CHECKS = List.of("connection", "connections", "idle_in_transaction", "dead_tuples",
            "last_vacuum", "cache_hit", "database_size", "backup_freshness");

    private final PgCluster pg;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    @TempDir
    Path dir;

    MonitorListenTest(PgCluster pg) {
        this.pg = pg;
    }

    private Target target(Path repo) {
        return new Target("t", pg.connection(DB), ExecSettings.local(), RepoLocation.local(repo), null, false);
    }

    private MonitorRequest request(Path repo, List<String> checks, Map<String, String> warning, Map<String, String> critical) {
        return MonitorRequest.resolve(new MonitorOptions(checks, false, warning, critical, null, null, null, null),
                target(repo), new Environment(pg.env(DB), dir));
    }

    private static ListenSettings onAnyFreePort(Duration cache, boolean showQueryText) {
        return new ListenSettings(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), cache, showQueryText);
    }

    private HttpResponse<String> get(MonitorListener l, String path) throws IOException, InterruptedException {
        return get(l.address().getPort(), path);
    }

    private HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        // the deadline proves "no hang": a scrape while the server is down answers, it does not wait
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(20)).build();
        return http.send(req, HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode check(JsonNode report, String name) {
        for (JsonNode c : report.get("checks")) {
            if (c.get("name").asText().equals(name)) {
                return c;
            }
        }
        throw new AssertionError("no check " + name + " in " + report);
    }

    private static JsonNode json(HttpResponse<String> r) throws IOException {
        return Json.mapper().readTree(r.body());
    }

    /** The metric names of an exposition that parses strictly (every line a comment, blank, or name{labels} value). */
    private static Set<String> names(String exposition) {
        Set<String> names = new TreeSet<>();
        PrometheusText.parse(exposition).samples.keySet().forEach(k -> names.add(k.contains("{") ? k.substring(0, k.indexOf('{')) : k));
        return names;
    }

    @Test
    @Order(1)
    void metricsHaveTheNamesOfFormatPrometheusAndHealthTurns503WhenCritical() throws Exception {
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 5000) g");
        Path repo = Files.createDirectories(dir.resolve("repo"));
        CliRun backup = CliRun.run(pg.env(DB), dir, "backup", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, backup.exitCode(), backup::toString);
        Map<String, String> warning = Map.of("idle_in_transaction", "1s");
        Map<String, String> critical = Map.of("idle_in_transaction", "2s");

        try (MonitorListener l = MonitorListener.start(request(repo, CHECKS, warning, critical), onAnyFreePort(Duration.ofMinutes(5), false))) {
            assertTrue(l.address().getAddress().isLoopbackAddress());
            HttpResponse<String> metrics = get(l, "/metrics");
            assertEquals(200, metrics.statusCode(), metrics::body);
            assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
            CliRun once = CliRun.run(pg.env(DB), dir, "monitor", "--repo", repo.toString(), "--format", "prometheus",
                    "--check", String.join(",", CHECKS), "--warning", "idle_in_transaction=1s", "--critical", "idle_in_transaction=2s");
            assertEquals(0, once.exitCode(), once::toString);
            Set<String> served = names(metrics.body());
            assertEquals(names(once.out()), served, "the same renderer, the same names");
            // the repository's figures, as backup_freshness knows them
            assertTrue(served.containsAll(List.of("chrono_dr_backup_age_seconds", "chrono_dr_backup_count", "chrono_dr_backup_size_bytes")), served::toString);
            PrometheusText parsed = PrometheusText.parse(metrics.body());
            assertEquals(1, parsed.value("chrono_dr_backup_count{target=\"t\"}"));
            assertTrue(parsed.value("chrono_dr_backup_size_bytes{target=\"t\"}") > 0);

            HttpResponse<String> ok = get(l, "/health");
            assertEquals(200, ok.statusCode(), ok::body);
            assertEquals("OK", json(ok).get("status").asText(), ok::body);
            assertEquals(0, json(ok).get("exit_code").asInt());

            try (Connection idle = pg.connect(DB); Statement st = idle.createStatement()) {
                idle.setAutoCommit(false);
                st.execute("SELECT 'listen-secret-marker' AS x, count(*) FROM t");
                Thread.sleep(2500);
                HttpResponse<String> down = get(l, "/health");
                assertEquals(503, down.statusCode(), down::body);
                assertEquals("CRITICAL", down.headers().firstValue("X-Chrono-DR-Status").orElse(""));
                JsonNode report = json(down);
                assertEquals("CRITICAL", report.get("status").asText());
                JsonNode c = check(report, "idle_in_transaction");
                assertEquals("CRITICAL", c.get("status").asText(), c::toString);
                // the session's SQL is in the one-shot JSON, but not served without monitor.listen.show_query_text
                assertEquals(QueryTexts.HIDDEN, c.at("/items/0/query").asText(), c::toString);
                assertTrue(c.get("message").asText().contains(QueryTexts.HIDDEN), c::toString);
                assertFalse(down.body().contains("listen-secret-marker"), down::body);
                HttpResponse<String> m = get(l, "/metrics");
                assertEquals(200, m.statusCode(), "a scrape succeeds whatever the database's state");
                assertEquals(2, PrometheusText.parse(m.body()).value("chrono_dr_status{target=\"t\"}"));
                assertFalse(m.body().contains("listen-secret-marker"));
                idle.rollback();
            }

            // The repository listing is cached for monitor.listen.cache: moving the repository away shows after it, not now.
            Files.move(repo, dir.resolve("repo-moved"));
            HttpResponse<String> cached = get(l, "/health");
            assertEquals("OK", check(json(cached), "backup_freshness").get("status").asText(), cached::body);
            assertEquals(1, l.connectionsOpened(), "one connection held across scrapes");
        }
        try (MonitorListener uncached = MonitorListener.start(request(repo, List.of("backup_freshness"), Map.of(), Map.of()),
                onAnyFreePort(Duration.ZERO, false))) {
            assertEquals("SKIPPED", check(json(get(uncached, "/health")), "backup_freshness").get("status").asText());
        }
        Files.move(dir.resolve("repo-moved"), repo);
    }

    /** A check that counts its evaluations and makes the first pass slow enough for every scraper to arrive during it. */
    private static final class Counted implements HealthCheck {
        private final HealthCheck inner;
        private final AtomicInteger runs;

        Counted(HealthCheck inner, AtomicInteger runs) {
            this.inner = inner;
            this.runs = runs;
        }

        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public String summary() {
            return inner.summary();
        }

        @Override
        public List<Threshold> thresholds() {
            return inner.thresholds();
        }

        @Override
        public boolean needsConnection() {
            return inner.needsConnection();
        }

        @Override
        public boolean needsMonitorRole(ServerFacts server) {
            return inner.needsMonitorRole(server);
        }

        @Override
        public List<SqlQuery> queries(ServerFacts server, MonitorSettings settings) {
            return inner.queries(server, settings);
        }

        @Override
        public CheckOutcome evaluate(CheckContext ctx) {
            if (runs.incrementAndGet() == 1) {
                try {
                    Thread.sleep(1500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return inner.evaluate(ctx);
        }
    }

    @Test
    @Order(2)
    void concurrentScrapesShareOnePassOfEachCheck() throws Exception {
        Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
        List<HealthCheck> checks = new ArrayList<>();
        for (HealthCheck c : List.of(new ConnectionCheck(), new SessionChecks.Connections(), new TableChecks.DeadTuples())) {
            checks.add(new Counted(c, runs.computeIfAbsent(c.name(), k -> new AtomicInteger())));
        }
        MonitorRequest base = request(dir.resolve("none"), List.of(), Map.of(), Map.of());
        MonitorRequest req = new MonitorRequest(base.target(), checks, base.settings(), null, null, null, base.runner());
        ExecutorService pool = Executors.newFixedThreadPool(10);
        try (MonitorListener l = MonitorListener.start(req, onAnyFreePort(Duration.ZERO, false))) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<HttpResponse<String>>> scrapes = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                String path = i % 2 == 0 ? "/metrics" : "/health";
                scrapes.add(pool.submit(() -> {
                    go.await();
                    return get(l, path);
                }));
            }
            go.countDown();
            for (Future<HttpResponse<String>> f : scrapes) {
                HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r::body);
                if (r.uri().getPath().equals("/metrics")) {
                    PrometheusText.parse(r.body());
                } else {
                    assertEquals("OK", json(r).get("status").asText(), r::body);
                }
            }
            int passes = l.passes();
            assertTrue(passes < 10, "10 concurrent scrapes shared passes instead of running 10: " + passes);
            runs.forEach((name, n) -> assertEquals(passes, n.get(), name + " ran once per pass"));
            assertEquals(10, l.scrapes());
            get(l, "/metrics");
            assertEquals(passes + 1, l.passes(), "a later scrape runs a new pass");
            runs.forEach((name, n) -> assertEquals(passes + 1, n.get(), name + " ran once per pass"));
            assertEquals(1, l.connectionsOpened());
            assertEquals(404, get(l, "/metrics/other").statusCode());
            assertEquals(404, get(l, "/nothing").statusCode());
            HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + l.address().getPort() + "/health"))
                    .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, post.statusCode());
            assertEquals(passes + 1, l.passes(), "none of those ran the checks");
            assertEquals(1L, ((Number) pg.scalar(DB, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chrono-dr'"
                    + " AND pid <> pg_backend_pid()")).longValue(), "one connection on the server");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @Order(3)
    void badListenValuesAndAPortInUseAreOneLineErrors() throws Exception {
        CliRun nonsense = CliRun.run(pg.env(DB), dir, "monitor", "--listen", "nonsense");
        assertEquals(64, nonsense.exitCode(), nonsense::toString);
        assertTrue(nonsense.err().startsWith("chrono-dr: --listen 'nonsense' is not PORT or HOST:PORT\n"), nonsense::toString);
        assertEquals(64, CliRun.run(pg.env(DB), dir, "monitor", "--listen", "127.0.0.1:70000").exitCode());
        assertEquals(64, CliRun.run(pg.env(DB), dir, "monitor", "--listen", "9187", "--format", "nagios").exitCode());

        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            CliRun inUse = CliRun.run(pg.env(DB), dir, "monitor", "--listen", String.valueOf(taken.getLocalPort()));
            assertEquals(1, inUse.exitCode(), inUse::toString);
            String first = inUse.err().lines().findFirst().orElse("");
            assertEquals("chrono-dr: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": the port is in use", first, inUse::toString);
            assertFalse(inUse.err().contains("Exception") || inUse.err().contains("\tat "), inUse::toString);
        }

        Path config = dir.resolve("listen.yaml");
        Files.writeString(config, "targets:\n  t:\n    host: 127.0.0.1\n    dbname: " + DB + "\n    monitor:\n      listen:\n        cache: soon\n");
        CliRun badCache = CliRun.run(pg.env(DB), dir, "monitor", "--config", config.toString(), "--target", "t", "--listen", "9187");
        assertEquals(64, badCache.exitCode(), badCache::toString);
        assertTrue(badCache.err().startsWith("chrono-dr: config monitor.listen.cache: "), badCache::toString);

        // Loopback unless a host is named.
        assertTrue(ListenSettings.address("9187").getAddress().isLoopbackAddress());
        assertEquals("127.0.0.1", ListenSettings.address(":9187").getAddress().getHostAddress());
        assertTrue(ListenSettings.address("0.0.0.0:9187").getAddress().isAnyLocalAddress(), "allowed: the host is explicit");
        assertTrue(ListenSettings.address("[::1]:9187").getAddress().isLoopbackAddress());
        assertEquals(64, assertThrows(ChronoException.class, () -> ListenSettings.address("::1:9187")).exitCode().code());
        assertEquals(64, assertThrows(ChronoException.class, () -> ListenSettings.address("localhost:")).exitCode().code());
    }

    @Test
    @Order(4)
    void theCommandServesUntilSigtermAndExitsZero() throws Exception {
        int port = LocalCluster.freePort();
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), "dev.chronodr.Main", "monitor", "--listen", ":" + port, "--check", "connection");
        pb.environment().clear();
        pb.environment().putAll(pg.env(DB));
        pb.redirectOutput(dir.resolve("listen.out").toFile()).redirectError(dir.resolve("listen.err").toFile());
        Process p = pb.start();
        try {
            HttpResponse<String> health = null;
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (health == null) {
                try {
                    health = get(port, "/health");
                } catch (IOException notYet) {
                    assertTrue(p.isAlive() && System.nanoTime() < deadline, () -> "it listens: " + readQuietly(dir.resolve("listen.err")));
                    Thread.sleep(200);
                }
            }
            assertEquals(200, health.statusCode(), health.body());
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "it stops within 30 s");
            String out = Files.readString(dir.resolve("listen.out"));
            assertEquals(0, p.exitValue(), () -> out + readQuietly(dir.resolve("listen.err")));
            assertTrue(out.startsWith("stopped listening on 127.0.0.1:" + port + " after 1 scrape"), out);
        } finally {
            p.destroyForcibly();
        }
    }

    private static String readQuietly(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Test
    @Order(5)
    void aRestartBetweenScrapesReconnectsAndADownServerIsCriticalNotAHang() throws Exception {
        pg.execute(DB, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        pg.execute("postgres", "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
        List<String> checks = List.of("connection", "slow_statements");
        Map<String, String> slow = Map.of("slow_statement", "1ms");
        Map<String, String> verySlow = Map.of("slow_statement", "1h");
        try (MonitorListener l = MonitorListener.start(request(dir.resolve("none"), checks, slow, verySlow), onAnyFreePort(Duration.ZERO, false));
             MonitorListener shows = MonitorListener.start(request(dir.resolve("none"), checks, slow, verySlow), onAnyFreePort(Duration.ZERO, true))) {
            HttpResponse<String> before = get(l, "/health");
            // installed but not preloaded: UNKNOWN, which is not a reason to take the database out of a load balancer
            assertEquals("UNKNOWN", json(before).get("status").asText(), before::body);
            assertEquals(200, before.statusCode());

            pg.restart();
            try (Connection c = pg.connect(DB); Statement st = c.createStatement()) {
                for (int i = 0; i < 6; i++) {
                    // an alias, not a literal: pg_stat_statements keeps identifiers and replaces constants
                    st.execute("SELECT pg_sleep(0.01) AS pgss_secret_marker");
                }
            }
            HttpResponse<String> after = get(l, "/health");
            assertEquals(200, after.statusCode(), after::body);
            assertEquals("OK", check(json(after), "connection").get("status").asText(), after::body);
            assertEquals("WARNING", check(json(after), "slow_statements").get("status").asText(), after::body);
            assertEquals(2, l.connectionsOpened(), "the connection the restart broke was replaced");
            assertFalse(after.body().contains("pgss_secret_marker"), after::body);
            assertFalse(get(l, "/metrics").body().contains("pgss_secret_marker"));
            assertTrue(get(shows, "/health").body().contains("pgss_secret_marker"), "shown when configured");

            pg.stop();
            try {
                HttpResponse<String> down = get(l, "/health");
                assertEquals(503, down.statusCode(), down::body);
                assertEquals("CRITICAL", check(json(down), "connection").get("status").asText(), down::body);
                HttpResponse<String> metrics = get(l, "/metrics");
                assertEquals(200, metrics.statusCode(), metrics::body);
                assertEquals(2, PrometheusText.parse(metrics.body()).value("chrono_dr_check_status{check=\"connection\",target=\"t\"}"));
            } finally {
                pg.start();
            }
            HttpResponse<String> back = get(l, "/health");
            assertEquals(200, back.statusCode(), back::body);
            assertEquals("OK", check(json(back), "connection").get("status").asText(), back::body);
        } finally {
            pg.execute("postgres", "ALTER SYSTEM RESET shared_preload_libraries");
        }
    }
}
