package dev.chronodr.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;

import dev.chronodr.core.Terminal;
import dev.chronodr.core.Json;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** Every format read back, the export file, the alert webhook up, down and slow, and --watch. */
@PostgresTest
class MonitorOutputTest {
    private static final String DB = "outputs";
    private static final Pattern NAGIOS = Pattern.compile("CHRONO-DR (OK|WARNING|CRITICAL|UNKNOWN) - ([^|\\n]+) \\|((?: [a-z_]+=[-0-9.]+(?:s|B|%)?;(?:[0-9.]+:?)?;(?:[0-9.]+:?)?;;)+)");

    private final PgCluster pg;
    @TempDir
    Path dir;
    private HttpServer hook;
    private final List<String> received = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger replyStatus = new AtomicInteger(200);
    private final AtomicReference<Long> replyDelayMs = new AtomicReference<>(0L);

    MonitorOutputTest(PgCluster pg) {
        this.pg = pg;
    }

    @BeforeAll
    static void database(PgCluster pg) {
        pg.createDatabase(DB);
    }

    @AfterEach
    void stopHook() {
        if (hook != null) {
            hook.stop(0);
        }
    }

    private CliRun monitor(String... args) {
        List<String> all = new ArrayList<>(List.of("monitor"));
        all.addAll(List.of(args));
        return CliRun.run(pg.env(DB), dir, all.toArray(String[]::new));
    }

    /** A webhook receiver on loopback that records each POST body. */
    private String startHook() throws IOException {
        hook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hook.createContext("/services/T000/B000/secret-token", ex -> {
            received.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            try {
                Thread.sleep(replyDelayMs.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = (replyStatus.get() == 200 ? "ok" : "no_service").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(replyStatus.get(), body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        // Handlers on their own daemon threads, so stopping the server never waits for a slow reply.
        hook.setExecutor(java.util.concurrent.Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "test-webhook");
            t.setDaemon(true);
            return t;
        }));
        hook.start();
        return "http://127.0.0.1:" + hook.getAddress().getPort() + "/services/T000/B000/secret-token";
    }

    @Test
    void jsonParsesAndMatchesTheExitCode() {
        CliRun r = monitor("--format", "json", "--warning", "connections=0.1%");
        assertEquals(1, r.exitCode(), r.toString());
        JsonNode j = r.json();
        assertEquals(1, j.get("exit_code").asInt());
        assertEquals("WARNING", j.get("status").asText());
        assertEquals("postgres@127.0.0.1:" + pg.port() + "/" + DB, j.get("server").asText());
        assertEquals("primary", j.get("role").asText());
        assertTrue(j.get("checked_at").asText().matches("\\d{4}-\\d\\d-\\d\\dT.*[+-]\\d\\d:\\d\\d|.*Z"), j.get("checked_at").asText());
        assertEquals(MonitorChecks.all().size(), j.get("checks").size());
        assertTrue(r.err().isEmpty(), r.err());
    }

    @Test
    void textIsOneLinePerCheckWorstFirst() {
        CliRun r = monitor("--warning", "connections=0.1%", "--check", "connection,connections,wraparound,archiving");
        assertEquals(1, r.exitCode(), r.toString());
        List<String> lines = r.out().lines().toList();
        assertEquals(5, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith("WARNING  postgres@127.0.0.1:" + pg.port()), lines.get(0));
        assertTrue(lines.get(1).startsWith("WARNING  connections "), r.out());
        assertTrue(lines.get(2).startsWith("SKIPPED  archiving "), r.out());
        assertTrue(lines.get(3).startsWith("OK       connection "), r.out());
        assertTrue(lines.get(4).startsWith("OK       wraparound "), r.out());
    }

    @Test
    void nagiosLineAndExitCodes() {
        CliRun ok = monitor("--format", "nagios");
        assertEquals(0, ok.exitCode(), ok.toString());
        Matcher m = NAGIOS.matcher(ok.out().strip());
        assertTrue(m.matches(), "not a Nagios plugin line: " + ok.out());
        assertEquals("OK", m.group(1));
        assertEquals(1, ok.out().strip().lines().count());
        assertTrue(m.group(3).contains(" up=1;;;;"), m.group(3));
        assertTrue(m.group(3).matches(".* cache_hit=[0-9.]+%;95:;90:;;.*"), "lower-is-worse levels as 'alert below' ranges: " + m.group(3));
        assertTrue(m.group(3).contains(" connections_used="), m.group(3));

        CliRun warn = monitor("--format", "nagios", "--warning", "connections=0.1%");
        assertEquals(1, warn.exitCode());
        Matcher w = NAGIOS.matcher(warn.out().strip());
        assertTrue(w.matches(), warn.out());
        assertEquals("WARNING", w.group(1));
        assertTrue(w.group(2).startsWith("WARNING connections: "), w.group(2));

        CliRun crit = monitor("--format", "nagios", "--check", "connections", "--warning", "connections=0.1", "--critical", "connections=0.2");
        assertEquals(2, crit.exitCode());
        assertTrue(crit.out().startsWith("CHRONO-DR CRITICAL - CRITICAL connections: "), crit.out());
    }

    @Test
    void prometheusIsValidExposition() {
        CliRun r = monitor("--format", "prometheus");
        assertEquals(0, r.exitCode(), r.toString());
        PrometheusText p = PrometheusText.parse(r.out());
        assertEquals(1, p.value("chrono_dr_up{target=\"default\"}"));
        assertEquals(0, p.value("chrono_dr_status{target=\"default\"}"));
        assertEquals(0, p.value("chrono_dr_check_status{check=\"lock_waits\",target=\"default\"}"));
        double ratio = p.value("chrono_dr_connections_used_ratio{target=\"default\"}");
        assertTrue(ratio > 0 && ratio < 1, "a ratio in 0..1: " + ratio);
        assertTrue(p.value("chrono_dr_database_size_bytes{target=\"default\"}") > 1_000_000);
        assertTrue(p.help.keySet().stream().allMatch(n -> n.startsWith("chrono_dr_")), p.help.keySet().toString());
        assertTrue(p.samples.keySet().stream().allMatch(n -> n.startsWith("chrono_dr_")));
        assertEquals(p.help.keySet(), p.type.keySet(), "HELP and TYPE for every family");
    }

    @Test
    void exportWritesTheJsonReportAtomically() throws Exception {
        Path file = dir.resolve("reports/health_report.json");
        CliRun r = monitor("--health", "--export", file.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("export: wrote " + file), r.out());
        JsonNode j = Json.mapper().readTree(Files.readString(file));
        assertEquals(0, j.get("exit_code").asInt());
        assertEquals("OK", j.get("status").asText());
        assertEquals(MonitorChecks.all().size(), j.get("checks").size());
        assertEquals(file.toString(), j.at("/export/path").asText());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        try (var files = Files.list(file.getParent())) {
            assertEquals(List.of(file), files.toList(), "no temp file left beside it");
        }
        // A second run replaces the file whole.
        CliRun again = monitor("--export", file.toString(), "--format", "json", "--warning", "connections=0.1%");
        assertEquals(1, again.exitCode());
        assertEquals("WARNING", Json.mapper().readTree(Files.readString(file)).get("status").asText());
        assertEquals(again.json().get("checks"), Json.mapper().readTree(Files.readString(file)).get("checks"));
    }

    @Test
    void anExportThatCannotBeWrittenFailsTheRunButKeepsTheReport() throws Exception {
        Path notADir = Files.writeString(dir.resolve("plain-file"), "x");
        CliRun r = monitor("--format", "json", "--export", notADir.resolve("report.json").toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertEquals("OK", r.json().get("status").asText(), "the checks themselves are fine");
        assertFalse(r.json().at("/export/written").asBoolean());
        assertFalse(r.json().at("/export/error").asText().isEmpty());
    }

    @Test
    void webhookGetsASlackMessageOnWarning() throws Exception {
        String url = startHook();
        CliRun r = monitor("--format", "json", "--warning", "connections=0.1%", "--alert-webhook", url);
        assertEquals(1, r.exitCode(), r.toString());
        assertEquals(1, received.size());
        JsonNode body = Json.mapper().readTree(received.get(0));
        assertEquals(1, body.size(), "Slack-compatible: just text");
        String text = body.get("text").asText();
        assertTrue(text.startsWith("chrono-dr monitor: WARNING on target default"), text);
        assertTrue(text.contains("\nWARNING connections: "), text);
        assertTrue(r.json().at("/alert/sent").asBoolean(), r.toString());
        assertEquals("http://127.0.0.1:" + hook.getAddress().getPort(), r.json().at("/alert/webhook").asText());
        assertFalse(r.out().contains("secret-token"), "the webhook's secret path is never printed");

        received.clear();
        CliRun ok = monitor("--format", "json", "--alert-webhook", url);
        assertEquals(0, ok.exitCode());
        assertTrue(received.isEmpty(), "nothing is posted when all is well");
        assertFalse(ok.json().at("/alert/sent").asBoolean());
    }

    @Test
    void aWebhookThatIsDownOrFailingNeverFailsTheCheck() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        CliRun down = monitor("--format", "json", "--warning", "connections=0.1%",
                "--alert-webhook", "http://127.0.0.1:" + closedPort + "/hook");
        assertEquals(1, down.exitCode(), "the check's own status decides: " + down);
        assertEquals(MonitorChecks.all().size(), down.json().get("checks").size());
        assertFalse(down.json().at("/alert/sent").asBoolean());
        assertTrue(down.json().at("/alert/detail").asText().contains("ConnectException"), down.toString());

        String url = startHook();
        replyStatus.set(500);
        CliRun failing = monitor("--warning", "connections=0.1%", "--alert-webhook", url);
        assertEquals(1, failing.exitCode());
        assertTrue(failing.out().contains("alert: FAILED to send to http://127.0.0.1:" + hook.getAddress().getPort() + ": HTTP 500"),
                failing.out());
    }

    @Test
    void aSlowWebhookTimesOut() throws Exception {
        String url = startHook();
        replyDelayMs.set(2500L);
        Path config = dir.resolve("timeout.yaml");
        Files.writeString(config, """
                targets:
                  slowhook:
                    monitor:
                      alert:
                        webhook: %s
                        timeout: 500ms
                """.formatted(url));
        long start = System.nanoTime();
        CliRun r = CliRun.run(pg.env(DB), dir, "monitor", "--config", config.toString(), "--format", "json",
                "--check", "connections", "--warning", "connections=0.1%");
        assertTrue(System.nanoTime() - start < 2_200_000_000L, "did not wait for the slow webhook");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.json().at("/alert/detail").asText().contains("HttpTimeoutException"), r.toString());
    }

    @Test
    void alertOncePerSuppressesTheSameAlertButNotANewOne() throws Exception {
        String url = startHook();
        Path state = dir.resolve("state/alert.json");
        String[] same = {"--format", "json", "--check", "connections,lock_waits", "--warning", "connections=0.1%",
                "--alert-webhook", url, "--alert-once-per", "1h", "--alert-state-file", state.toString()};
        CliRun first = monitor(same);
        assertTrue(first.json().at("/alert/sent").asBoolean(), first.toString());
        assertTrue(Files.exists(state));
        CliRun second = monitor(same);
        assertEquals(1, second.exitCode());
        assertFalse(second.json().at("/alert/sent").asBoolean());
        assertTrue(second.json().at("/alert/suppressed").asBoolean(), second.toString());
        assertEquals(1, received.size(), "the cron's second run does not page again");

        // Worse news goes out at once.
        CliRun worse = monitor("--format", "json", "--check", "connections,lock_waits", "--warning", "connections=0.1%",
                "--critical", "connections=0.2%", "--alert-webhook", url, "--alert-once-per", "1h", "--alert-state-file", state.toString());
        assertEquals(2, worse.exitCode());
        assertTrue(worse.json().at("/alert/sent").asBoolean(), worse.toString());
        assertEquals(2, received.size());

        // A clean run forgets, so the next problem alerts at once.
        CliRun clean = monitor("--format", "json", "--check", "connections", "--alert-webhook", url, "--alert-once-per", "1h",
                "--alert-state-file", state.toString());
        assertEquals(0, clean.exitCode());
        assertFalse(Files.exists(state));
        assertTrue(monitor(same).json().at("/alert/sent").asBoolean());
        assertEquals(3, received.size());
    }

    @Test
    void theStateFileDefaultsBesideTheExport() throws Exception {
        String url = startHook();
        Path export = dir.resolve("out/report.json");
        CliRun r = monitor("--format", "json", "--warning", "connections=0.1%", "--export", export.toString(),
                "--alert-webhook", url, "--alert-once-per", "30m");
        assertTrue(r.json().at("/alert/sent").asBoolean(), r.toString());
        Path state = export.resolveSibling(".chrono-dr-alert-default.json");
        assertEquals(state.toString(), r.json().at("/alert/state_file").asText());
        assertTrue(Files.exists(state));
        // Without --export it lives in the repository directory.
        Path repo = dir.resolve("repo");
        CliRun inRepo = monitor("--format", "json", "--warning", "connections=0.1%", "--repo", repo.toString(),
                "--alert-webhook", url, "--alert-once-per", "30m");
        assertEquals(repo.resolve(".chrono-dr-alert-default.json").toString(), inRepo.json().at("/alert/state_file").asText());
        assertTrue(Files.exists(repo.resolve(".chrono-dr-alert-default.json")));
    }

    @Test
    void webhookFromTheEnvironment() throws Exception {
        String url = startHook();
        Map<String, String> env = new LinkedHashMap<>(pg.env(DB));
        env.put("CHRONO_DR_ALERT_WEBHOOK", url);
        CliRun r = CliRun.run(env, dir, "monitor", "--check", "connections", "--warning", "connections=0.1%");
        assertEquals(1, r.exitCode());
        assertEquals(1, received.size(), r.toString());
    }

    @Test
    void watchRefusesWithoutATerminal() {
        CliRun r = monitor("--watch", "2");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--watch needs a terminal"), r.err());
        Terminal tty = new Terminal(true, true, true, false);
        CliRun json = CliRun.run(pg.env(DB), dir, "", tty, "monitor", "--watch", "2", "--format", "json");
        assertEquals(64, json.exitCode(), json.toString());
        CliRun zero = CliRun.run(pg.env(DB), dir, "", tty, "monitor", "--watch", "0");
        assertEquals(64, zero.exitCode(), zero.toString());
    }

    @Test
    void watchRedrawsInPlaceUntilInterrupted() throws Exception {
        Terminal tty = new Terminal(true, true, true, false);
        AtomicReference<CliRun> result = new AtomicReference<>();
        Thread t = new Thread(() -> result.set(CliRun.run(pg.env(DB), dir, "", tty, "monitor", "--watch", "1",
                "--check", "connection,connections")));
        t.start();
        // Two rounds of a 1 s watch; generous, since a loaded machine can take a second for one round.
        Thread.sleep(5000);
        t.interrupt();
        t.join(10_000);
        CliRun r = result.get();
        assertEquals(0, r.exitCode(), r.toString());
        int redraws = r.out().split("\u001b\\[H\u001b\\[2J", -1).length - 1;
        assertTrue(redraws >= 2, "redrawn at least twice in 5 s: " + redraws + "\n" + r.out());
        assertTrue(r.out().contains("refreshing every 1 s; Ctrl-C to stop"), r.out());
        assertTrue(r.out().strip().endsWith("last status OK"), r.out());
    }

    @Test
    void usageErrors() {
        CliRun unknown = monitor("--check", "conections");
        assertEquals(64, unknown.exitCode());
        assertTrue(unknown.err().contains("unknown check 'conections'") && unknown.err().contains("connections"), unknown.err());
        assertEquals(64, monitor("--health", "--check", "disk").exitCode());
        assertEquals(64, monitor("--warning", "long_query=soon").exitCode());
        assertEquals(64, monitor("--warning", "connections=90", "--critical", "connections=80").exitCode());
        assertEquals(64, monitor("--alert-once-per", "1h").exitCode());
        assertEquals(64, monitor("--alert-webhook", "ftp://example/x").exitCode());
        assertEquals(64, monitor("--format", "junit").exitCode());
    }
}
