package dev.chronodr.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * The HTML pages, rendered by a real headless Chromium, for a database whose name needs
 * escaping. {@code dr-test --html}: two drills, each kept in the repository with its page;
 * the second page shows the JSON report's own figures and the history of both drills as a
 * chart. {@code monitor --html}: every check of the JSON report, with its status.
 */
@PostgresTest
class HtmlPagesTest {
    /** A name that breaks a page that does not escape: markup, quotes, a space, a multi-byte letter. */
    private static final String DB = "page <ü> \"q\" o'k";
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    @Test
    void twoDrillsGiveAPageWithTheReportsFiguresAndTheirHistory(PgCluster pg, @TempDir Path dir) throws Exception {
        pg.createDemoDatabase(DB);
        Path config = Files.writeString(dir.resolve("c.yaml"), """
                targets:
                  app:
                    host: 127.0.0.1
                    port: %d
                    dbname: '%s'
                    user: postgres
                    critical_tables: [users, pages]
                    drill: {rto_minutes: 20, rpo_minutes: 10}
                """.formatted(pg.port(), DB.replace("'", "''")));
        Map<String, String> env = new HashMap<>(pg.env(DB));
        env.keySet().removeIf(k -> k.startsWith("PG") && !k.equals("PGPASSWORD"));
        Path repo = dir.resolve("repo");
        Path page = dir.resolve("out/drill.html");
        CliRun first = CliRun.run(env, dir, "dr-test", "--config", config.toString(), "--repo", repo.toString(), "--format", "json");
        assertEquals(0, first.exitCode(), first::toString);
        CliRun second = CliRun.run(env, dir, "dr-test", "--config", config.toString(), "--repo", repo.toString(), "--latest",
                "--html", page.toString(), "--format", "json");
        assertEquals(0, second.exitCode(), second::toString);
        JsonNode j = second.json();

        List<String> kept;
        try (var l = Files.list(repo.resolve(".drills"))) {
            kept = l.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(4, kept.size(), "each drill's record and page: " + kept);
        String newest = kept.get(3).replace(".json", ""); // names sort by time, and .html before .json
        assertEquals(newest + ".html", kept.get(2));
        assertEquals(Files.readString(page), Files.readString(repo.resolve(".drills").resolve(newest + ".html")), "the page kept is the page written");
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(page)));

        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM), "needs Debian's chromium (apt-get install chromium)");
        String dom = render(page, dir);
        assertFalse(dom.contains("<ü>"), "the database's name is text, not markup");
        assertTrue(dom.contains("page &lt;ü&gt; \"q\" o'k"), "the name as text, multi-byte letter intact: " + dom);
        assertEquals("PASSED", byId(dom, "verdict"));
        assertEquals(j.path("total_millis").asText(), byId(dom, "total-millis"));
        assertEquals(j.at("/rto/measured_seconds").asText(), byId(dom, "rto-measured"));
        assertEquals(j.at("/rto/target_seconds").asText(), byId(dom, "rto-target"));
        assertEquals(j.at("/rpo/measured_seconds").asText(), byId(dom, "rpo-measured"));
        for (JsonNode s : j.path("steps")) {
            Matcher m = Pattern.compile("data-key=\"" + Pattern.quote(s.path("name").asText())
                    + "\"><td>[^<]*</td><td class=\"[A-Z]+\">([A-Z]+)</td><td class=\"n\">(\\d+)</td>").matcher(dom);
            assertTrue(m.find(), "step " + s + " on the page");
            assertEquals(s.path("outcome").asText(), m.group(1));
            assertEquals(s.path("millis").asText(), m.group(2));
        }
        assertTrue(dom.contains("id=\"restore-chart\""), "two drills with a restore make a chart");
        Matcher rows = Pattern.compile("<tr><td>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC</td>").matcher(
                dom.substring(dom.indexOf("id=\"history\"")));
        int n = 0;
        while (rows.find()) {
            n++;
        }
        assertEquals(2, n, "both drills in the history table");
    }

    @Test
    void theMonitorPageShowsEveryCheckOfTheJsonReport(PgCluster pg, @TempDir Path dir) throws Exception {
        String db = DB + " monitor";
        pg.createDemoDatabase(db);
        Map<String, String> env = new HashMap<>(pg.env(db));
        Path page = dir.resolve("monitor.html");
        CliRun r = CliRun.run(env, dir, "monitor", "--check", "connection,connections,cache_hit,long_queries,lock_waits",
                "--html", page.toString(), "--format", "json");
        assertTrue(r.exitCode() <= 1, r::toString);
        JsonNode j = r.json();
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(page)));
        CliRun watching = CliRun.run(env, dir, "monitor", "--watch", "1", "--html", page.toString());
        assertEquals(64, watching.exitCode(), watching::toString);

        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM), "needs Debian's chromium (apt-get install chromium)");
        String dom = render(page, dir);
        assertFalse(dom.contains("<ü>"), "the database's name is text, not markup");
        assertEquals(j.path("status").asText(), byId(dom, "verdict"));
        assertEquals(j.path("duration_ms").asText(), byId(dom, "duration-ms"));
        int n = 0;
        for (JsonNode c : j.path("checks")) {
            Matcher m = Pattern.compile("data-key=\"" + Pattern.quote(c.path("name").asText()) + "\"><td>[^<]*</td><td class=\"([A-Z]+)\">")
                    .matcher(dom);
            assertTrue(m.find(), "check " + c + " on the page");
            assertEquals(c.path("status").asText(), m.group(1));
            n++;
        }
        assertEquals(5, n, "every check asked for: " + j);
    }

    private static String byId(String dom, String id) {
        Matcher m = Pattern.compile("id=\"" + Pattern.quote(id) + "\"[^>]*>([^<]*)<").matcher(dom);
        assertTrue(m.find(), "#" + id + " on the page");
        return m.group(1);
    }

    /** The page as Chromium renders it (its DOM after parsing), and a screenshot kept under target/ for people. */
    private static String render(Path page, Path dir) throws IOException, InterruptedException {
        List<String> common = List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--user-data-dir=" + dir.resolve("chromium-profile"));
        Path shot = Files.createDirectories(Path.of("target", "artifacts")).resolve(page.getFileName().toString().replace(".html", ".png"))
                .toAbsolutePath();
        Files.deleteIfExists(shot);
        List<String> screenshot = new ArrayList<>(common);
        screenshot.addAll(List.of("--window-size=1100,1400", "--screenshot=" + shot, page.toUri().toString()));
        run(screenshot);
        assertTrue(Files.size(shot) > 1000, "a screenshot was taken: " + shot);
        List<String> dump = new ArrayList<>(common);
        dump.addAll(List.of("--dump-dom", page.toUri().toString()));
        return run(dump);
    }

    private static String run(List<String> argv) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        p.getOutputStream().close();
        var out = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return e.toString();
            }
        });
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish in 90 s: " + argv);
        }
        assertEquals(0, p.exitValue(), () -> "chromium: " + argv);
        return out.join();
    }
}
