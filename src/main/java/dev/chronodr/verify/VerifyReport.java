package dev.chronodr.verify;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.LinkedHashMap;
import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;

import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.Format;
import dev.chronodr.report.JUnitXml;
import dev.chronodr.report.Renderer;
import dev.chronodr.report.TextOutput;

/**
 * Everything one verify run found: a result per check, in the order they ran. Exit code:
 * 2 if any check is CRITICAL, else 3 if any could not check (UNKNOWN, or SKIPPED because
 * something was missing), else 1 for a WARNING, else 0.
 */
public record VerifyReport(String target, String connection, Server server, String scope, OffsetDateTime startedAt,
                           long elapsedMs, List<CheckResult> checks) implements CommandResult, Renderer.FormatRenderable {

    public record Server(String version, int versionNum, String role, String database, String currentUser,
                         boolean superuser, boolean dataChecksums) {
    }

    public VerifyReport {
        checks = List.copyOf(checks);
    }

    @Override
    public ExitCode exitCode() {
        ExitCode worst = ExitCode.OK;
        for (CheckResult c : checks) {
            worst = ExitCode.worst(worst, c.exitCode());
        }
        return worst;
    }

    /** The overall status, worst first; a blocked SKIPPED reads as UNKNOWN here. */
    @JsonProperty("status")
    public Status status() {
        return switch (exitCode()) {
            case OK -> Status.OK;
            case FAILED -> Status.WARNING;
            case CRITICAL -> Status.CRITICAL;
            default -> Status.UNKNOWN;
        };
    }

    /** How many checks ended in each status, worst first, for a one-line summary. */
    @JsonProperty("counts")
    public Map<String, Integer> counts() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (Status s : List.of(Status.CRITICAL, Status.UNKNOWN, Status.WARNING)) {
            put(m, s.name().toLowerCase(Locale.ROOT), checks.stream().filter(c -> c.status() == s).count());
        }
        put(m, "not_checked", checks.stream().filter(c -> c.status() == Status.SKIPPED && c.blocked()).count());
        put(m, "skipped", checks.stream().filter(c -> c.status() == Status.SKIPPED && !c.blocked()).count());
        put(m, "ok", checks.stream().filter(c -> c.status() == Status.OK).count());
        return m;
    }

    private static void put(Map<String, Integer> m, String key, long n) {
        if (n > 0) {
            m.put(key, (int) n);
        }
    }

    @JsonIgnore
    public CheckResult check(String name) {
        return checks.stream().filter(c -> c.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no check " + name));
    }

    private static final String INDENT = "           ";

    @Override
    public void renderText(TextOutput out) {
        String where = server == null ? connection
                : connection + ", PostgreSQL " + new dev.chronodr.pg.PgVersion(server.versionNum()) + " (" + server.role() + ")";
        out.line(status() + ": chrono-dr verify " + where);
        if (scope != null) {
            out.line("scope: " + scope);
        }
        out.line("");
        for (CheckResult c : checks) {
            String elapsed = c.elapsedMs() > 0 ? " (" + TextOutput.duration(Duration.ofMillis(c.elapsedMs())) + ")" : "";
            out.line(out.status(c.status()) + " " + String.format("%-22s", c.name()) + " " + c.summary() + elapsed
                    + (c.status() == Status.SKIPPED && c.blocked() ? " [could not check]" : ""));
            for (Finding f : c.findings()) {
                out.line(INDENT + out.status(f.status()) + " " + f.kind() + " " + f.object() + ": " + f.message());
                if (f.sample() != null && !f.sample().isEmpty()) {
                    out.line(INDENT + "  sample: " + String.join("; ", f.sample()));
                }
                if (f.details() != null) {
                    f.details().forEach(d -> out.line(INDENT + "  " + d));
                }
                if (f.fix() != null) {
                    out.line(INDENT + "  fix: " + f.fix());
                }
            }
            for (String step : c.nextSteps()) {
                out.line(INDENT + "next: " + step);
            }
            for (String cmd : c.commands()) {
                out.line(INDENT + "run:  " + cmd);
            }
        }
        out.line("");
        List<String> parts = new ArrayList<>();
        counts().forEach((k, v) -> parts.add(v + " " + k.replace('_', ' ')));
        out.line("result: " + status() + " (exit " + exitCode().code() + "): " + String.join(", ", parts)
                + " in " + TextOutput.duration(Duration.ofMillis(elapsedMs)));
    }

    @Override
    public boolean supports(Format format) {
        return format == Format.JUNIT;
    }

    /** JUnit XML: one test case per check, so CI lists each check with its outcome. */
    @Override
    public void render(Format format, PrintWriter out) {
        List<JUnitXml.Case> cases = new ArrayList<>();
        for (CheckResult c : checks) {
            JUnitXml.Outcome outcome = switch (c.status()) {
                case OK -> JUnitXml.Outcome.PASSED;
                case WARNING, CRITICAL -> JUnitXml.Outcome.FAILED;
                case UNKNOWN -> JUnitXml.Outcome.ERROR;
                // A check that should have run and could not is an error in CI's eyes, not a skip.
                case SKIPPED -> c.blocked() ? JUnitXml.Outcome.ERROR : JUnitXml.Outcome.SKIPPED;
            };
            String message = c.status() + ": " + c.summary();
            cases.add(new JUnitXml.Case("chrono-dr.verify", c.name(), Duration.ofMillis(c.elapsedMs()), outcome,
                    message, detail(c)));
        }
        JUnitXml.write("chrono-dr verify " + connection, cases, Duration.ofMillis(elapsedMs), out);
    }

    private static String detail(CheckResult c) {
        StringBuilder b = new StringBuilder(c.title()).append('\n').append(c.summary()).append('\n');
        for (Finding f : c.findings()) {
            b.append(f.status()).append(' ').append(f.kind()).append(' ').append(f.object()).append(": ").append(f.message()).append('\n');
            if (f.sample() != null && !f.sample().isEmpty()) {
                b.append("  sample: ").append(String.join("; ", f.sample())).append('\n');
            }
            if (f.details() != null) {
                f.details().forEach(d -> b.append("  ").append(d).append('\n'));
            }
            if (f.fix() != null) {
                b.append("  fix: ").append(f.fix()).append('\n');
            }
        }
        c.nextSteps().forEach(s -> b.append("next: ").append(s).append('\n'));
        c.commands().forEach(s -> b.append("run: ").append(s).append('\n'));
        return b.toString();
    }
}
