package dev.chronodr.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;
import dev.chronodr.report.Format;
import dev.chronodr.report.Renderer;
import dev.chronodr.testing.CliRun;

/** Options, exit-code rules and renderings that need no server. */
class VerifyOptionsTest {
    private static final Map<String, String> NO_PG = Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin"));

    @Test
    void badOptionsAreUsageErrorsBeforeConnecting(@TempDir Path tmp) {
        CliRun unknown = CliRun.run(NO_PG, tmp, "verify", "--only", "btree,indexes");
        assertEquals(64, unknown.exitCode(), unknown.toString());
        assertTrue(unknown.err().contains("unknown check indexes"), unknown.err());
        assertTrue(unknown.err().contains("invalid-indexes, btree, heap, foreign-keys, not-valid-constraints, checksums, controldata"),
                unknown.err());

        assertEquals(64, CliRun.run(NO_PG, tmp, "verify", "--jobs", "0").exitCode());
        assertEquals(64, CliRun.run(NO_PG, tmp, "verify", "--jobs", "33").exitCode());
        assertEquals(64, CliRun.run(NO_PG, tmp, "verify", "--jobs", "many").exitCode());
        assertEquals(64, CliRun.run(NO_PG, tmp, "verify", "--statement-timeout", "5 fortnights").exitCode());
        assertEquals(64, CliRun.run(NO_PG, tmp, "verify", "--only", "heap", "--skip", "heap").exitCode());
        CliRun nagios = CliRun.run(NO_PG, tmp, "verify", "--format", "nagios");
        assertEquals(64, nagios.exitCode());
        assertTrue(nagios.err().contains("use one of: text, json, junit"), nagios.err());

        CliRun json = CliRun.run(NO_PG, tmp, "verify", "--skip", "nothing", "--format", "json");
        assertEquals(64, json.exitCode());
        assertEquals(64, json.json().get("exit_code").asInt());

        CliRun help = CliRun.run(NO_PG, tmp, "verify", "--help");
        assertEquals(0, help.exitCode());
        for (String option : List.of("--tables", "--schema", "--only", "--skip", "--jobs", "--statement-timeout", "--data-dir")) {
            assertTrue(help.out().contains(option), option + " missing from help: " + help.out());
        }
    }

    @Test
    void unreachableDatabaseIsCriticalAndControlDataNeedsADirectory(@TempDir Path tmp) {
        Map<String, String> env = new java.util.HashMap<>(NO_PG);
        env.put("PGHOST", "127.0.0.1");
        env.put("PGPORT", "1");
        env.put("PGUSER", "nobody");
        env.put("PGDATABASE", "nothing");
        env.put("PGPASSWORD", "x");
        CliRun down = CliRun.run(env, tmp, "verify", "--format", "json");
        assertEquals(2, down.exitCode(), down.toString());
        assertTrue(down.json().get("error").get("message").asText().contains("127.0.0.1:1"), down.out());

        // Asked for by name without --data-dir: could not check, and no connection is needed to say so.
        CliRun control = CliRun.run(env, tmp, "verify", "--only", "controldata", "--format", "json");
        assertEquals(3, control.exitCode(), control.toString());
        assertTrue(DataFiles.check(control.json(), "controldata").get("blocked").asBoolean());
    }

    @Test
    void timeoutsReadLikePostgres() {
        assertEquals(Duration.ofMillis(500), Timeouts.parse("--x", "500ms"));
        assertEquals(Duration.ofSeconds(30), Timeouts.parse("--x", "30s"));
        assertEquals(Duration.ofMinutes(5), Timeouts.parse("--x", "5min"));
        assertEquals(Duration.ofMinutes(5), Timeouts.parse("--x", "5m"));
        assertEquals(Duration.ofHours(2), Timeouts.parse("--x", "2h"));
        assertEquals(Duration.ZERO, Timeouts.parse("--x", "0"));
        ChronoException e = assertThrows(ChronoException.class, () -> Timeouts.parse("--x", "30"));
        assertEquals(ExitCode.USAGE, e.exitCode());
        assertThrows(ChronoException.class, () -> Timeouts.parse("--x", "30d"));
    }

    private static CheckResult result(String name, Status status, boolean blocked) {
        return new CheckResult(name, name + " title", status, blocked, name + " summary", 1,
                List.of(Finding.of(status, "index", "public.x", "message for " + name, "REINDEX x;")), List.of("do this"),
                List.of(), 12);
    }

    private static VerifyReport report(CheckResult... checks) {
        return new VerifyReport("t", "u@h:5432/db", null, null, OffsetDateTime.now(), 100, List.of(checks));
    }

    @Test
    void exitCodeIsTheWorstCheck() {
        assertEquals(ExitCode.OK, report(result("a", Status.OK, false), result("b", Status.SKIPPED, false)).exitCode());
        assertEquals(ExitCode.FAILED, report(result("a", Status.OK, false), result("b", Status.WARNING, false)).exitCode());
        // Skipped because something was missing: could not check.
        VerifyReport blocked = report(result("a", Status.WARNING, false), result("b", Status.SKIPPED, true));
        assertEquals(ExitCode.UNKNOWN, blocked.exitCode());
        assertEquals(Status.UNKNOWN, blocked.status());
        assertEquals(Map.of("warning", 1, "not_checked", 1), blocked.counts());
        assertEquals(ExitCode.UNKNOWN, report(result("a", Status.UNKNOWN, false)).exitCode());
        // Corruption found outranks "could not check" elsewhere.
        assertEquals(ExitCode.CRITICAL, report(result("a", Status.SKIPPED, true), result("b", Status.CRITICAL, false)).exitCode());
    }

    @Test
    void junitMapsStatusesToOutcomes() {
        VerifyReport r = report(result("ok", Status.OK, false), result("warn", Status.WARNING, false),
                result("crit", Status.CRITICAL, false), result("unknown", Status.UNKNOWN, false),
                result("skipped", Status.SKIPPED, false), result("blocked", Status.SKIPPED, true));
        assertTrue(Renderer.supports(Format.JUNIT, r));
        StringWriter w = new StringWriter();
        new Renderer(Format.JUNIT, false).render(r, new PrintWriter(w));
        String xml = w.toString();
        assertTrue(xml.contains("tests=\"6\" failures=\"2\" errors=\"2\" skipped=\"1\""), xml);
        assertTrue(xml.contains("<testcase classname=\"chrono-dr.verify\" name=\"ok\" time=\"0.012\"/>"), xml);
        assertTrue(xml.contains("name=\"blocked\" time=\"0.012\"><error message=\"SKIPPED: blocked summary\">"), xml);
        assertTrue(xml.contains("name=\"skipped\" time=\"0.012\"><skipped message=\"SKIPPED: skipped summary\"/>"), xml);
        assertTrue(xml.contains("fix: REINDEX x;"), xml);
    }
}
