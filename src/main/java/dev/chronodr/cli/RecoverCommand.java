package dev.chronodr.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.DrillSection;
import dev.chronodr.config.RecoverSection;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.recover.RecoverRequest;
import dev.chronodr.recover.RecoverResult;
import dev.chronodr.recover.RecoverService;
import dev.chronodr.recover.Step;
import dev.chronodr.recover.StepListener;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.Format;
import dev.chronodr.report.ReportFile;
import dev.chronodr.report.TextOutput;

@Command(name = "recover", sortOptions = false,
        description = {"Bring a failed database back: diagnose, restart, check integrity, restore the newest good backup if damaged.",
                "In the runbook's order: the read-only diagnosis (--diagnose stops there); a server that is down is restarted with its",
                "dependents stopped; a damaged one is replaced by the newest good backup (asks for YES, after an emergency copy of the",
                "data directory); then the dependents, monitor's checks and the smoke tests. Each step is timed against the RTO.",
                "Exit 0 recovered and healthy (--diagnose: healthy), 1 a step failed (named), 2 not recovered (--diagnose: not healthy),",
                "64 bad input or no confirmation."})
public final class RecoverCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--diagnose", description = "Only look: state, log, memory and disk, pg_isready, pg_controldata, and a verdict. Changes nothing.")
    boolean diagnose;

    @Option(names = "--yes", description = "Confirm a restore without a prompt (needed when there is no terminal).")
    boolean yes;

    @Option(names = "--ready-timeout", paramLabel = "SECONDS",
            description = "Most seconds to wait for the server after a restart (config recover.ready_timeout_seconds, default 300).")
    Integer readyTimeout;

    @Option(names = "--rto", paramLabel = "MINUTES", description = "Recovery time objective for the total (config drill.rto_minutes, default 30).")
    Integer rto;

    @Option(names = "--report", paramLabel = "FILE", description = "Also write the timeline as JSON to FILE.")
    Path report;

    @Override
    protected CommandResult execute() {
        if (readyTimeout != null && readyTimeout < 1) {
            throw ChronoException.usage("--ready-timeout must be at least 1 second", null);
        }
        if (rto != null && rto < 1) {
            throw ChronoException.usage("--rto is minutes, 1 or more", null);
        }
        Services s = services();
        Target target = s.target(connection);
        RecoverSection config = RecoverSection.of(target);
        int ready = readyTimeout != null ? readyTimeout
                : config.readyTimeoutSeconds != null ? config.readyTimeoutSeconds : RecoverSection.DEFAULT_READY_TIMEOUT_SECONDS;
        int rtoMinutes = DrillSection.objectives(rto, null, target).rtoMinutes();
        RecoverService service = new RecoverService(s.runner(), s.tools(), cli().env(), s.progress(), s.version(),
                output.quiet ? StepListener.NONE : new StderrSteps(cli().err()),
                action -> Confirmation.require(cli(), yes, action));
        RecoverResult result = service.recover(target, new RecoverRequest(diagnose, Duration.ofSeconds(ready), Duration.ofMinutes(rtoMinutes)));
        if (report != null) {
            ReportFile.write(cli().env().resolve(report.toString()), Format.JSON, result);
        }
        return result;
    }

    /** Each step as it starts and ends, on stderr: stdout keeps the one result (one JSON document with --format json). */
    private static final class StderrSteps implements StepListener {
        private final PrintWriter err;

        StderrSteps(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void started(String name, OffsetDateTime at) {
            err.println(at.toLocalTime().withNano(0) + " start " + name);
            err.flush();
        }

        @Override
        public void ended(Step step) {
            err.println(step.startedAt().plusNanos(step.millis() * 1_000_000).toLocalTime().withNano(0) + " " + step.status() + " "
                    + step.name() + " (" + TextOutput.duration(Duration.ofMillis(step.millis())) + "): " + step.summary());
            err.flush();
        }
    }
}
