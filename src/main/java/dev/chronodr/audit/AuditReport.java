package dev.chronodr.audit;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.CheckedResult;
import dev.chronodr.report.TextView;

/**
 * The audit's one result. Text groups findings by severity; JSON carries everything;
 * JUnit gives CI one test case per finding and per clean check. With --print-sql the
 * text rendering is the SQL script alone, so it can be redirected to a file.
 */
public record AuditReport(String target, String connection, String database, String serverVersion, String connectedAs,
                          boolean superuser, OffsetDateTime startedAt, long durationMs, String matrixDatabase,
                          List<CheckSummary> checks, List<Finding> findings, List<Skip> skipped, List<Ignored> ignored,
                          Summary summary, List<String> sql, @JsonIgnore boolean printSql)
        implements CheckedResult {

    /** A finding or skip that an accepted risk covers; it does not count towards the exit code. */
    public record Ignored(String id, String object, String severity, String reason) {
    }

    public record Summary(int critical, int warning, int info, int skipped, int essentialSkipped, int ignored, String verdict) {
    }

    @Override
    public ExitCode exitCode() {
        return exitCodeOf(findings, skipped);
    }

    static ExitCode exitCodeOf(List<Finding> findings, List<Skip> skipped) {
        ExitCode code = ExitCode.OK;
        for (Finding f : findings) {
            code = ExitCode.worst(code, f.severity().exitCode());
        }
        if (skipped.stream().anyMatch(Skip::essential)) {
            // Key checks did not run: never a clean bill (CRITICAL still wins, as it is certain).
            code = ExitCode.worst(code, ExitCode.UNKNOWN);
        }
        return code;
    }

    static String verdict(ExitCode code) {
        return switch (code) {
            case OK -> "clean";
            case FAILED -> "warnings";
            case CRITICAL -> "critical";
            default -> "incomplete";
        };
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        if (printSql) {
            script().forEach(out::verbatim);
            return out.build();
        }
        out.line("Security audit of " + connection + " (target " + target + ")");
        out.field("server", "PostgreSQL " + serverVersion);
        out.field("connected as", connectedAs + (superuser ? " (superuser)" : " (not a superuser: some checks cannot run)"));
        StringBuilder cs = new StringBuilder();
        for (CheckSummary c : checks) {
            cs.append(cs.length() == 0 ? "" : ", ").append(c.id()).append(c.status().equals(CheckSummary.RAN) ? "" : " " + c.status());
        }
        out.field("checks", cs);
        for (Severity s : Severity.values()) {
            List<Finding> group = findings.stream().filter(f -> f.severity() == s).toList();
            if (group.isEmpty()) {
                continue;
            }
            out.line("");
            out.line(s == Severity.INFO ? TextView.text("INFO") : TextView.bare(status(s)), TextView.text(" (" + group.size() + ")"));
            for (Finding f : group) {
                out.line("  " + f.id() + "  " + f.object());
                out.line("      evidence: " + f.evidence());
                out.line("      why:      " + f.why());
                out.line("      fix:      " + f.fix());
            }
        }
        if (!skipped.isEmpty()) {
            out.line("");
            out.line(TextView.bare(Status.SKIPPED), TextView.text(" (" + skipped.size() + ")"));
            for (Skip s : skipped) {
                out.line("  " + s.check() + " [" + String.join(", ", s.rules()) + "]" + (s.essential() ? "  (key check: the audit is incomplete)" : ""));
                out.line("      reason:   " + s.reason());
            }
        }
        if (!ignored.isEmpty()) {
            out.line("");
            out.line("IGNORED (" + ignored.size() + ", accepted risks)");
            for (Ignored i : ignored) {
                out.line("  " + i.id() + "  " + i.object() + "  [" + i.severity() + "]  " + i.reason());
            }
        }
        out.line("");
        out.line("Result: " + summary.critical() + " critical, " + summary.warning() + " warning, " + summary.info() + " info, "
                + summary.skipped() + " skipped, " + summary.ignored() + " ignored -> " + summary.verdict() + " (exit " + exitCode().code() + ")");
        return out.build();
    }

    private static Status status(Severity s) {
        return s == Severity.CRITICAL ? Status.CRITICAL : Status.WARNING;
    }

    /** The --print-sql script: reviewed and run by a person, never by chrono-dr. */
    List<String> script() {
        List<String> lines = new ArrayList<>();
        lines.add("-- chrono-dr audit --print-sql: target " + target + ", generated " + startedAt);
        lines.add("-- SQL that would make roles and privileges match the User Management Matrix.");
        lines.add("-- chrono-dr never runs it. Review it, then run it as a superuser connected to database " + matrixDatabase + ":");
        lines.add("--   psql -v ON_ERROR_STOP=1 -d " + matrixDatabase + " -f this-file.sql");
        lines.add("-- Passwords are never written here: set them interactively with \\password.");
        if (sql.isEmpty()) {
            lines.add("-- Nothing to change: the roles and privileges match the matrix.");
            return lines;
        }
        boolean statements = sql.stream().anyMatch(s -> !s.startsWith("--"));
        if (statements) {
            lines.add("BEGIN;");
        }
        lines.addAll(sql);
        if (statements) {
            lines.add("COMMIT;");
        }
        return lines;
    }

    @Override
    public String suite() {
        return "chrono-dr audit " + target;
    }

    /** One test case per finding and per clean check; a skipped key check is an error, never green in CI. */
    @Override
    public List<CheckOutcome> outcomes() {
        List<CheckOutcome> cases = new ArrayList<>();
        for (Finding f : findings) {
            String cls = "audit." + f.check();
            String detail = "evidence: " + f.evidence() + "\nwhy: " + f.why() + "\nfix: " + f.fix();
            cases.add(f.severity() == Severity.INFO
                    ? CheckOutcome.step(cls, f.id() + " " + f.object(), Status.OK, null, null, Duration.ZERO)
                    : CheckOutcome.step(cls, f.id() + " " + f.object(), status(f.severity()), f.severity() + ": " + f.evidence(),
                    detail, Duration.ZERO));
        }
        for (CheckSummary c : checks) {
            if (c.findings() == 0 && c.status().equals(CheckSummary.RAN)) {
                cases.add(CheckOutcome.step("audit." + c.id(), c.id() + ": no findings", Status.OK, null, null, Duration.ZERO));
            }
        }
        for (Skip s : skipped) {
            cases.add(CheckOutcome.step("audit." + s.check(), s.check() + " skipped " + String.join(",", s.rules()),
                    s.essential() ? Status.UNKNOWN : Status.SKIPPED, (s.essential() ? "could not audit: " : "") + s.reason(), null,
                    Duration.ZERO));
        }
        for (Ignored i : ignored) {
            cases.add(CheckOutcome.step("audit.ignored", i.id() + " " + i.object(), Status.SKIPPED,
                    "accepted risk (" + i.severity() + "): " + i.reason(), null, Duration.ZERO));
        }
        return cases;
    }

    @Override
    public Duration elapsed() {
        return Duration.ofMillis(durationMs);
    }
}
