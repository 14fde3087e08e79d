package dev.chronodr.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.core.Json;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;

/** The renderers of report/ over a small result, without a server. */
class RenderersTest {

    /** A result made of checks, as verify, audit and the drill offer them. */
    record Checked(String name, List<CheckOutcome> checks) implements CheckedResult {
        @Override
        public List<CheckOutcome> outcomes() {
            return checks;
        }

        @Override
        public ExitCode exitCode() {
            return ExitCode.CRITICAL;
        }

        @Override
        public TextView text() {
            return TextView.builder().line(TextView.word(Status.CRITICAL), TextView.text(" " + name)).field("next", "chrono-dr verify")
                    .verbatim("-- chrono-dr verify").build();
        }

        @Override
        public String suite() {
            return "chrono-dr test " + name;
        }

        @Override
        public Duration elapsed() {
            return Duration.ofMillis(1500);
        }
    }

    static Checked result() {
        return new Checked("db", List.of(
                CheckOutcome.step("g", "ok", Status.OK, "fine", null, Duration.ofMillis(12)),
                CheckOutcome.step("g", "warn", Status.WARNING, "WARNING: <w>", "long & detailed", Duration.ZERO),
                CheckOutcome.step("g", "crit", Status.CRITICAL, "CRITICAL: c", null, Duration.ZERO),
                CheckOutcome.step("g", "unknown", Status.UNKNOWN, "could not check", "why", Duration.ZERO),
                CheckOutcome.step("g", "skipped", Status.SKIPPED, "left out", null, null)));
    }

    static String render(Format f, CommandResult r, Suggestions s) {
        StringWriter w = new StringWriter();
        new Renderer(f, false, s).render(r, new PrintWriter(w));
        return w.toString();
    }

    @Test
    void junitHasOneCasePerOutcomeAndMapsStatuses() {
        String xml = render(Format.JUNIT, result(), Suggestions.NONE);
        assertTrue(xml.contains("<testsuite name=\"chrono-dr test db\" tests=\"5\" failures=\"2\" errors=\"1\" skipped=\"1\" time=\"1.500\">"), xml);
        assertTrue(xml.contains("<testcase classname=\"g\" name=\"ok\" time=\"0.012\"/>"), xml);
        assertTrue(xml.contains("name=\"warn\" time=\"0.000\"><failure message=\"WARNING: &lt;w&gt;\">long &amp; detailed</failure>"), xml);
        assertTrue(xml.contains("name=\"crit\" time=\"0.000\"><failure message=\"CRITICAL: c\">CRITICAL: c</failure>"), "no detail: the message" + xml);
        assertTrue(xml.contains("name=\"unknown\" time=\"0.000\"><error message=\"could not check\">why</error>"), xml);
        assertTrue(xml.contains("name=\"skipped\" time=\"0.000\"><skipped message=\"left out\"/>"), xml);
    }

    @Test
    void jsonStartsWithTheExitCodeAndAFileIsTheSameDocument(@TempDir Path dir) throws Exception {
        Checked r = result();
        String out = render(Format.JSON, r, Suggestions.NONE);
        JsonNode doc = Json.mapper().readTree(out);
        assertEquals("exit_code", doc.fieldNames().next(), out);
        assertEquals(2, doc.get("exit_code").asInt());
        List<String> fields = new ArrayList<>();
        doc.fieldNames().forEachRemaining(fields::add);
        assertEquals(List.of("exit_code", "name", "checks"), fields, "the record's components; suite, outcomes, elapsed and text stay out");
        Path file = dir.resolve("r.json");
        ReportFile.write(file, Format.JSON, r);
        assertEquals(out, Files.readString(file));
    }

    @Test
    void aHealthChecksJsonIsItsOwnFieldsOnly() throws Exception {
        JsonNode n = Json.mapper().valueToTree(CheckOutcome.of("connection", Status.OK, "connected"));
        List<String> fields = new ArrayList<>();
        n.fieldNames().forEachRemaining(fields::add);
        assertEquals(List.of("name", "status", "message", "metrics", "items"), fields, n.toString());
    }

    @Test
    void textIsLaidOutByTheRendererWithTheUsersFlags() {
        Suggestions s = new Suggestions(List.of(new Suggestions.Flag("--target", "prod")), (path, option) -> true,
                path -> path.equals(List.of("verify")));
        String text = render(Format.TEXT, result(), s);
        assertEquals("CRITICAL db\n  next:          chrono-dr verify --target prod\n-- chrono-dr verify\n", text,
                "status padded, fields aligned, flags added to commands, verbatim lines left as they are");
    }

    @Test
    void aFormatTheResultDoesNotOfferIsRefused() {
        CommandResult plain = new CommandResult() {
            @Override
            public ExitCode exitCode() {
                return ExitCode.OK;
            }

            @Override
            public TextView text() {
                return TextView.builder().line("x").build();
            }
        };
        assertTrue(Renderer.supports(Format.JUNIT, result()));
        assertEquals(false, Renderer.supports(Format.NAGIOS, result()));
        assertEquals(false, Renderer.supports(Format.JUNIT, plain));
        assertThrows(IllegalStateException.class, () -> render(Format.PROMETHEUS, plain, Suggestions.NONE));
    }
}
