package dev.chronodr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Renderers live in report/ and nowhere else: a result describes what it says (its fields,
 * its TextView, its check outcomes) and report/ decides how each format lays it out. A text
 * scan of src/main/java; each rule is shown to fail on a small source that breaks it.
 */
class RenderingArchitectureTest {
    private static final Path MAIN = Path.of("src/main/java");
    private static final String REPORT = "dev/chronodr/report/";

    /** One rule: its name and the pattern a source outside report/ must not contain (comments stripped). */
    record Rule(String name, Pattern pattern) {
    }

    static final List<Rule> RULES = List.of(
            new Rule("declares a rendering method (renderText, renderJson, renderJUnit, render(Format ...), writeJUnit ...)",
                    Pattern.compile("\\b(?:void|String|boolean)\\s+(?:render\\w*|write(?:JUnit|Junit|Json|Nagios|Prometheus)\\w*)\\s*\\(")),
            new Rule("names a format writer of report/ (JUnit, JSON, Nagios, Prometheus) instead of going through Renderer or ReportFile",
                    Pattern.compile("\\b(?:JUnitRenderer|JsonRenderer|NagiosRenderer|PrometheusRenderer|JUnitXml|NagiosOutput|PrometheusOutput"
                            + "|FormatRenderable)\\b")),
            new Rule("lays out text: takes or makes a TextOutput (build a TextView instead)",
                    Pattern.compile("(?:[(,]\\s*(?:final\\s+)?TextOutput\\s+\\w+)|new\\s+TextOutput\\s*\\(")),
            new Rule("builds the JSON envelope itself (exit_code belongs to report/JsonRenderer)",
                    Pattern.compile("\"exit_code\"")));

    /** What {@code source}, at {@code path} under src/main/java, breaks: "path: rule" per rule. */
    static List<String> violations(String path, String source) {
        List<String> found = new ArrayList<>();
        if (path.replace('\\', '/').startsWith(REPORT)) {
            return found;
        }
        String code = stripComments(source);
        for (Rule r : RULES) {
            Matcher m = r.pattern().matcher(code);
            if (m.find()) {
                found.add(path + ": " + r.name() + " (" + m.group().strip() + ")");
            }
        }
        return found;
    }

    /** Source without its comments, so that a doc comment may name a renderer. */
    static String stripComments(String source) {
        return source.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("(?m)^\\s*//.*$", "");
    }

    @Test
    void noRendererIsDefinedOutsideReport() throws IOException {
        List<String> found = new ArrayList<>();
        int scanned = 0;
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                scanned++;
                found.addAll(violations(MAIN.relativize(f).toString(), Files.readString(f)));
            }
        }
        assertTrue(scanned > 100, "the scan found the sources: " + scanned);
        assertEquals(List.of(), found, "render in report/: results describe, report/ lays out");
    }

    private static void flagged(String source, String ruleStart) {
        List<String> found = violations("dev/chronodr/verify/Bad.java", source);
        assertTrue(found.stream().anyMatch(v -> v.contains(": " + ruleStart)), ruleStart + " not flagged: " + found);
        assertEquals(List.of(), violations(REPORT + "Fine.java", source), "report/ may render");
    }

    @Test
    void aRenderTextMethodOutsideReportFails() {
        flagged("class Bad { public void renderText(TextView.Builder out) { } }", "declares a rendering method");
        flagged("class Bad { public void render(Format format, PrintWriter out) { } }", "declares a rendering method");
        flagged("class Bad { void writeJUnit(PrintWriter out) { } }", "declares a rendering method");
    }

    @Test
    void aFormatWriterNamedOutsideReportFails() {
        flagged("import dev.chronodr.report.JUnitRenderer;\nclass Bad { }", "names a format writer");
        flagged("class Bad { String s = NagiosRenderer.line(r); }", "names a format writer");
        flagged("class Bad implements Renderer.FormatRenderable { }", "names a format writer");
    }

    @Test
    void textLaidOutOutsideReportFails() {
        flagged("class Bad { void show(TextOutput out) { out.line(\"x\"); } }", "lays out text");
        flagged("class Bad { void show(PrintWriter w) { new TextOutput(w, false); } }", "lays out text");
    }

    @Test
    void anEnvelopeBuiltOutsideReportFails() {
        flagged("class Bad { void f(ObjectNode doc) { doc.put(\"exit_code\", 0); } }", "builds the JSON envelope");
    }

    @Test
    void commentsAndHelpersDoNotCount() {
        assertEquals(List.of(), violations("dev/chronodr/verify/Ok.java",
                "/** Rendered by {@link JUnitRenderer}, not by a renderText method. */\n"
                        + "class Ok { String size = TextOutput.bytes(1); TextView text() { return null; } }"));
    }
}
