package dev.chronodr.verify;

import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;

/**
 * The outcome of one check: its status, how many objects it looked at, the objects it
 * found something about, and what to do next.
 *
 * <p>A SKIPPED check is one of two kinds. {@code blocked = false}: the user left it out
 * (--skip, --only) or it does not apply (no --data-dir, checksums off, a server too old);
 * that does not change the exit code. {@code blocked = true}: it should have run but could
 * not (a missing extension or privilege); that is exit 3, never a quiet OK. {@code commands}
 * then holds the exact statements that would let it run.
 *
 * <p>Verify keeps its own type beside {@link CheckOutcome}, the outcome every renderer reads:
 * its JSON is documented with these fields, and {@code blocked}, {@code checked}, the findings
 * with their fixes and the commands that would let a check run mean something only here.
 * {@link #outcome()} is how the renderers see it.
 */
public record CheckResult(String name, String title, Status status, boolean blocked, String summary, int checked,
                          List<Finding> findings, List<String> nextSteps, List<String> commands, long elapsedMs) {
    public CheckResult {
        findings = List.copyOf(findings);
        nextSteps = List.copyOf(nextSteps);
        commands = List.copyOf(commands);
    }

    /** Did not run, by choice or because it does not apply here: exit code unaffected. */
    public static CheckResult skipped(VerifyCheck check, String reason, List<String> nextSteps) {
        return new CheckResult(check.name(), check.title(), Status.SKIPPED, false, reason, 0, List.of(), nextSteps, List.of(), 0);
    }

    /** Should have run but could not (privilege, extension, tool): exit 3. */
    public static CheckResult blocked(VerifyCheck check, String reason, List<String> nextSteps, List<String> commands) {
        return new CheckResult(check.name(), check.title(), Status.SKIPPED, true, reason, 0, List.of(), nextSteps, commands, 0);
    }

    /** Could not finish: the check started but an error it cannot judge stopped it. */
    public static CheckResult unknown(VerifyCheck check, String reason, List<String> nextSteps) {
        return new CheckResult(check.name(), check.title(), Status.UNKNOWN, false, reason, 0, List.of(), nextSteps, List.of(), 0);
    }

    /** Ran over {@code checked} objects; the status is the worst finding's, OK when there are none. */
    public static CheckResult of(VerifyCheck check, int checked, List<Finding> findings, String summary, List<String> nextSteps) {
        Status status = Status.worst(findings.stream().map(Finding::status).toList());
        return new CheckResult(check.name(), check.title(), status, false, summary, checked, findings, nextSteps, List.of(), 0);
    }

    /** "12 indexes checked, no problems" or "12 indexes: 1 corrupt, 2 could not be checked". */
    static String summary(int total, String noun, String nouns, long bad, String badLabel, long unknown, String allGood) {
        String what = total + " " + (total == 1 ? noun : nouns);
        if (bad == 0 && unknown == 0) {
            return what + " checked, " + allGood;
        }
        List<String> parts = new java.util.ArrayList<>();
        if (bad > 0) {
            parts.add(bad + " " + badLabel);
        }
        if (unknown > 0) {
            parts.add(unknown + " could not be checked");
        }
        return what + ": " + String.join(", ", parts);
    }

    public CheckResult withElapsedMs(long ms) {
        return new CheckResult(name, title, status, blocked, summary, checked, findings, nextSteps, commands, ms);
    }

    /** What this check adds to the exit code: a blocked SKIPPED counts as "could not check". */
    @JsonIgnore
    public ExitCode exitCode() {
        if (status == Status.SKIPPED) {
            return blocked ? ExitCode.UNKNOWN : ExitCode.OK;
        }
        return status.exitCode();
    }

    /**
     * This check as the renderers see it. A blocked SKIPPED is UNKNOWN there: a check that
     * should have run and could not is an error in CI's eyes, not a skip.
     */
    @JsonIgnore
    public CheckOutcome outcome() {
        Status shown = status == Status.SKIPPED && blocked ? Status.UNKNOWN : status;
        return CheckOutcome.step("chrono-dr.verify", name, shown, status + ": " + summary, detail(), Duration.ofMillis(elapsedMs));
    }

    private String detail() {
        StringBuilder b = new StringBuilder(title).append('\n').append(summary).append('\n');
        for (Finding f : findings) {
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
        nextSteps.forEach(s -> b.append("next: ").append(s).append('\n'));
        commands.forEach(s -> b.append("run: ").append(s).append('\n'));
        return b.toString();
    }
}
