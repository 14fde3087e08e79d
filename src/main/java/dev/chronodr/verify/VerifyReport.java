package dev.chronodr.verify;

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
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.CheckedResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/**
 * Everything one verify run found: a result per check, in the order they ran. Exit code:
 * 2 if any check is CRITICAL, else 3 if any could not check (UNKNOWN, or SKIPPED because
 * something was missing), else 1 for a WARNING, else 0.
 */
public record VerifyReport(String target, String connection, Server server, String scope, OffsetDateTime startedAt,
                           long elapsedMs, List<CheckResult> checks) implements CheckedResult {

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
    public TextView text() {
        TextView.Builder out = TextView.builder();
        String where = server == null ? connection
                : connection + ", PostgreSQL " + new dev.chronodr.pg.PgVersion(server.versionNum()) + " (" + server.role() + ")";
        out.line(status() + ": chrono-dr verify " + where);
        if (scope != null) {
            out.line("scope: " + scope);
        }
        out.line("");
        for (CheckResult c : checks) {
            String elapsed = c.elapsedMs() > 0 ? " (" + TextOutput.duration(Duration.ofMillis(c.elapsedMs())) + ")" : "";
            out.line(TextView.word(c.status()), TextView.text(" " + String.format("%-22s", c.name()) + " " + c.summary() + elapsed
                    + (c.status() == Status.SKIPPED && c.blocked() ? " [could not check]" : "")));
            for (Finding f : c.findings()) {
                out.line(TextView.text(INDENT), TextView.word(f.status()), TextView.text(" " + f.kind() + " " + f.object() + ": " + f.message()));
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
        return out.build();
    }

    @Override
    public String suite() {
        return "chrono-dr verify " + connection;
    }

    /** One test case per check, so CI lists each check with its outcome. */
    @Override
    public List<CheckOutcome> outcomes() {
        return checks.stream().map(CheckResult::outcome).toList();
    }

    @Override
    public Duration elapsed() {
        return Duration.ofMillis(elapsedMs);
    }
}
