package dev.chronodr.report;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * JUnit XML, the format CI systems show as test results: one suite, one test case per
 * check or step. A failed case carries the message; a skipped one says why. The one mapping
 * from check outcomes to test cases: OK passes, WARNING and CRITICAL fail, UNKNOWN (could
 * not check) is an error, SKIPPED is skipped.
 */
final class JUnitRenderer {
    private JUnitRenderer() {
    }

    enum Outcome { PASSED, FAILED, ERROR, SKIPPED }

    record Case(String className, String name, Duration time, Outcome outcome, String message, String detail) {
    }

    public static void render(CheckedResult result, PrintWriter out) {
        List<Case> cases = result.outcomes().stream().map(JUnitRenderer::testCase).toList();
        write(result.suite(), cases, result.elapsed(), out);
    }

    static Case testCase(CheckOutcome c) {
        Outcome outcome = switch (c.status()) {
            case OK -> Outcome.PASSED;
            case WARNING, CRITICAL -> Outcome.FAILED;
            case UNKNOWN -> Outcome.ERROR;
            case SKIPPED -> Outcome.SKIPPED;
        };
        return new Case(c.group(), c.name(), c.duration(), outcome, c.message(), c.detail());
    }

    static void write(String suite, List<Case> cases, Duration total, PrintWriter out) {
        long failures = cases.stream().filter(c -> c.outcome() == Outcome.FAILED).count();
        long errors = cases.stream().filter(c -> c.outcome() == Outcome.ERROR).count();
        long skipped = cases.stream().filter(c -> c.outcome() == Outcome.SKIPPED).count();
        out.println("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        out.printf(Locale.ROOT, "<testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\">%n",
                esc(suite), cases.size(), failures, errors, skipped, seconds(total));
        for (Case c : cases) {
            out.printf(Locale.ROOT, "  <testcase classname=\"%s\" name=\"%s\" time=\"%.3f\"", esc(c.className()), esc(c.name()), seconds(c.time()));
            switch (c.outcome()) {
                case PASSED -> out.println("/>");
                case SKIPPED -> out.printf("><skipped message=\"%s\"/></testcase>%n", esc(c.message()));
                case FAILED, ERROR -> {
                    String tag = c.outcome() == Outcome.FAILED ? "failure" : "error";
                    out.printf("><%s message=\"%s\">%s</%s></testcase>%n", tag, esc(c.message()),
                            esc(c.detail() == null ? c.message() : c.detail()), tag);
                }
            }
        }
        out.println("</testsuite>");
        out.flush();
    }

    private static double seconds(Duration d) {
        return d == null ? 0 : d.toNanos() / 1e9;
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&apos;");
                default -> {
                    if (ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') {
                        b.append('?');
                    } else {
                        b.append(ch);
                    }
                }
            }
        }
        return b.toString();
    }
}
