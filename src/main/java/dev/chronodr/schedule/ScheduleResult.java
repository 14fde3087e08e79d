package dev.chronodr.schedule;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextView;

/**
 * A schedule: the files that run chrono-dr on time, and, after --install, where they were
 * written and what the user runs next. The text shows the files themselves, ready to be
 * redirected or pasted.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ScheduleResult(String format, String target, List<JobView> jobs, List<GeneratedFile> files,
                             Installed installed, List<String> notes, List<String> nextSteps) implements CommandResult {

    public record JobView(String name, String cron, String onCalendar, List<List<String>> steps) {
        static JobView of(Job j) {
            return new JobView(j.name(), j.when().cron(), j.when().onCalendar(), j.steps());
        }
    }

    public record Installed(String directory, List<String> written, List<String> removed) {
    }

    public static ScheduleResult of(ScheduleRequest req, List<GeneratedFile> files, Installer.Outcome outcome,
                                    List<String> notes, List<String> nextSteps) {
        return new ScheduleResult(req.flavour().label(), req.target(), ScheduleService.jobs(req).stream().map(JobView::of).toList(),
                files, outcome == null ? null : new Installed(outcome.directory().toString(), outcome.written(), outcome.removed()),
                List.copyOf(notes), List.copyOf(nextSteps));
    }

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder b = TextView.builder();
        if (installed == null) {
            for (GeneratedFile f : files) {
                if (files.size() > 1) {
                    b.verbatim("# ==> " + f.name() + " <==");
                }
                for (String line : f.content().split("\n")) {
                    b.verbatim(line);
                }
            }
            for (String n : notes) {
                b.verbatim("# note: " + n);
            }
            return b.build();
        }
        b.line("installed the " + format + " schedule of target " + target + " into " + installed.directory() + ":");
        installed.written().forEach(w -> b.line("  wrote   " + w));
        installed.removed().forEach(r -> b.line("  removed " + r + " (its job is off now)"));
        notes.forEach(n -> b.line("note: " + n));
        if (!nextSteps.isEmpty()) {
            b.line("next:");
            nextSteps.forEach(s -> b.line("  " + s));
        }
        return b.build();
    }
}
