package dev.chronodr.drill;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;

import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.CheckedResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/**
 * What the drill proved: each step with its status and time, the restore time against
 * the RTO and the backup's age against the RPO. {@code restoredOn} is set only when a
 * restore completed; {@code server} is where the drill restores (or would have).
 * {@code leftoversRemoved} are scratch databases of interrupted drills, proven theirs by
 * their mark; {@code leftoversLeftAlone} were recorded by a drill but carry no mark.
 * {@code lastRecover} is the newest {@code chrono-dr recover} run recorded in the repository
 * against the same RTO (null when there was none): what a real night took, beside what the
 * drill measured. It informs; it does not pass or fail the drill.
 */
public record DrillReport(String database, String backupId, String scratchDatabase, String server, String restoredOn,
                          OffsetDateTime startedAt, List<Step> steps, Objective rto, Objective rpo, List<String> leftoversRemoved,
                          List<String> leftoversLeftAlone, boolean kept, long elapsedMillis, Objective lastRecover)
        implements CheckedResult {

    public enum Outcome { PASSED, FAILED, SKIPPED, ERROR }

    /**
     * One step of the drill. Its own type, not a {@link CheckOutcome}: its JSON speaks of
     * outcomes (PASSED, FAILED, ...) as test runners do; {@link #outcomes()} is how renderers see it.
     */
    public record Step(String name, Outcome outcome, long millis, String message, List<String> details) {
    }

    /** A measured value against its objective. */
    public record Objective(long targetSeconds, Long measuredSeconds, boolean met, String what) {
    }

    @JsonProperty
    public boolean passed() {
        return steps.stream().noneMatch(s -> s.outcome() == Outcome.FAILED || s.outcome() == Outcome.ERROR);
    }

    /** Wall time of the whole drill; some steps run side by side, so it is less than their sum. */
    @JsonProperty
    public long totalMillis() {
        return elapsedMillis;
    }

    @Override
    public ExitCode exitCode() {
        if (passed()) {
            return ExitCode.OK;
        }
        boolean failed = steps.stream().anyMatch(s -> s.outcome() == Outcome.FAILED);
        return failed ? ExitCode.CRITICAL : ExitCode.UNKNOWN;
    }

    private boolean restoreTried() {
        return steps.stream().anyMatch(s -> s.name().equals("restore"));
    }

    /** Failing steps first, then the rest in order. */
    @JsonIgnore
    List<Step> failingFirst() {
        return failingFirst(steps);
    }

    /** {@code steps} with the failing ones first, then the rest in order: how both drills list them. */
    static List<Step> failingFirst(List<Step> steps) {
        List<Step> out = new ArrayList<>(steps);
        out.sort(Comparator.comparingInt(s -> s.outcome() == Outcome.FAILED || s.outcome() == Outcome.ERROR ? 0 : 1));
        return out;
    }

    /** One line per step, failing first, with the details of those that did not pass. */
    static void stepLines(TextView.Builder out, List<Step> steps) {
        for (Step s : failingFirst(steps)) {
            out.line(String.format("  %-7s %-22s %9s  %s", s.outcome(), s.name(), TextOutput.duration(Duration.ofMillis(s.millis())),
                    s.message() == null ? "" : s.message()));
            if (s.outcome() != Outcome.PASSED) {
                for (String d : s.details().subList(0, Math.min(10, s.details().size()))) {
                    out.line("            " + d);
                }
            }
        }
    }

    /** The steps as test cases of {@code group}: a failed step is CRITICAL (the drill failed), an error UNKNOWN (it could not tell). */
    static List<CheckOutcome> outcomes(String group, List<Step> steps) {
        return steps.stream().map(s -> CheckOutcome.step(group, s.name(), switch (s.outcome()) {
            case PASSED -> Status.OK;
            case FAILED -> Status.CRITICAL;
            case SKIPPED -> Status.SKIPPED;
            case ERROR -> Status.UNKNOWN;
        }, s.message(), String.join("\n", s.details()), Duration.ofMillis(s.millis()))).toList();
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        // One name per measured span: "restored ... in" is the restore step (the RTO's figure), "drill" the whole run.
        Step restore = steps.stream().filter(s -> s.name().equals("restore") && s.outcome() == Outcome.PASSED).findFirst().orElse(null);
        out.line("dr-test " + (passed() ? "PASSED" : "FAILED") + ": " + database + " from backup " + (backupId == null ? "?" : backupId)
                + (restoredOn != null ? " restored on " + restoredOn + (restore != null ? " in " + TextOutput.duration(Duration.ofMillis(restore.millis())) : "")
                        : restoreTried() ? ", restore on " + server + " failed" : ", no restore attempted")
                + "; drill took " + TextOutput.duration(Duration.ofMillis(totalMillis())));
        stepLines(out, steps);
        if (rto != null) {
            out.field("RTO", rto.what());
        }
        if (rpo != null) {
            out.field("RPO", rpo.what());
        }
        if (lastRecover != null) {
            out.field("last recover", lastRecover.what());
        }
        if (!leftoversRemoved.isEmpty()) {
            out.field("cleaned", "scratch databases of interrupted drills: " + String.join(", ", leftoversRemoved));
        }
        for (String left : leftoversLeftAlone) {
            out.field("left alone", left);
        }
        if (kept && scratchDatabase != null) {
            out.field("kept", scratchDatabase + " (--keep); drop it when done");
        }
        return out.build();
    }

    @Override
    public String suite() {
        return "chrono-dr dr-test " + database;
    }

    /** One test case per step; a failed step is CRITICAL (the drill failed), an error UNKNOWN (it could not tell). */
    @Override
    public List<CheckOutcome> outcomes() {
        return outcomes("chrono-dr.dr-test." + database, steps);
    }

    @Override
    public Duration elapsed() {
        return Duration.ofMillis(totalMillis());
    }
}
