package dev.chronodr.recover;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/**
 * What {@code recover} found and did: the diagnosis, each step with its start and duration,
 * the total against the RTO, what was changed, what was left as it was, and what a person
 * should do next. One object for text, JSON and {@code --report}.
 *
 * @param outcome    healthy (nothing to do), recovered, restored, diagnosed, not recovered, step failed, not confirmed
 * @param failedStep the step that stopped the run or failed, or null
 */
public record RecoverResult(String target, String outcome, Diagnosis diagnosis, OffsetDateTime startedAt, List<Step> steps,
                            long totalMillis, long rtoMillis, String failedStep, List<String> changed, List<String> leftAsItWas,
                            List<String> nextSteps, @JsonIgnore ExitCode exit) implements CommandResult {

    public RecoverResult {
        steps = List.copyOf(steps);
        changed = List.copyOf(changed);
        leftAsItWas = List.copyOf(leftAsItWas);
        nextSteps = List.copyOf(nextSteps);
    }

    public boolean withinRto() {
        return totalMillis <= rtoMillis;
    }

    @Override
    public ExitCode exitCode() {
        return exit;
    }

    /** The step of that name, or null. */
    public Step step(String name) {
        return steps.stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line("recover " + target + ": " + outcome + (failedStep == null ? "" : " (at step '" + failedStep + "')"));
        Diagnosis d = diagnosis;
        if (d != null) {
            out.field("verdict", d.verdict().label() + ": " + d.reason());
            out.field("where", d.host());
            out.field("server", d.server());
            out.field("connections", d.accepting() ? "accepted" : "refused: " + d.connectError());
            out.field("pg_isready", d.pgIsReady());
            out.field("pg_control", d.controlProblem() != null ? d.controlProblem()
                    : (d.clusterState() == null ? "unknown" : d.clusterState()) + (d.lastCheckpoint() == null ? "" : "; checkpoint " + d.lastCheckpoint()));
            if (d.postmasterPid() != null) {
                out.field("postmaster.pid", d.postmasterPid());
            }
            d.resources().forEach(r -> out.field("resources", r));
            if (!d.accepting() && !d.logTail().isEmpty()) {
                out.line("last " + d.logTail().size() + " log lines:");
                d.logTail().forEach(l -> out.line("  | " + l));
            }
        }
        out.line("steps:");
        for (Step s : steps) {
            out.line(TextView.word(s.status()), TextView.text(" " + s.startedAt().toLocalTime().withNano(0) + " " + s.name()
                    + " (" + TextOutput.duration(Duration.ofMillis(s.millis())) + "): " + s.summary()));
            s.details().forEach(l -> out.line("        " + l));
        }
        out.field("total", TextOutput.duration(Duration.ofMillis(totalMillis)) + " against an RTO of "
                + TextOutput.duration(Duration.ofMillis(rtoMillis)) + (withinRto() ? " (within)" : " (OVER)"));
        changed.forEach(c -> out.line("changed: " + c));
        leftAsItWas.forEach(c -> out.line("left as it was: " + c));
        if (!nextSteps.isEmpty()) {
            out.line("next:");
            nextSteps.forEach(n -> out.line("  - " + n));
        }
        return out.build();
    }

    /** For the drill's report and other readers: the steps that failed. */
    @JsonIgnore
    public List<Step> failures() {
        return steps.stream().filter(s -> s.status() == Status.CRITICAL).toList();
    }
}
