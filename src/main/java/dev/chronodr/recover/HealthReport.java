package dev.chronodr.recover;

import java.util.ArrayList;
import java.util.List;

import dev.chronodr.config.Target;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Status;
import dev.chronodr.monitor.MonitorOptions;
import dev.chronodr.monitor.MonitorReport;
import dev.chronodr.monitor.MonitorRequest;
import dev.chronodr.monitor.MonitorService;
import dev.chronodr.recover.Timeline.Outcome;
import dev.chronodr.report.CheckOutcome;

/** Monitor's checks after a recovery (the runbook's {@code monitor --health}): no alert, no export; each check not OK named. */
final class HealthReport {
    private HealthReport() {
    }

    static Outcome run(Target target, Environment env) {
        MonitorReport m = new MonitorService().check(MonitorRequest.resolve(MonitorOptions.none(), target, env));
        List<String> details = new ArrayList<>();
        for (CheckOutcome c : m.worstFirst()) {
            if (c.status() != Status.OK && c.status() != Status.SKIPPED) {
                details.add(c.name() + ": " + c.status() + " " + c.message());
            }
        }
        Status st = m.status() == Status.CRITICAL ? Status.CRITICAL : m.status() == Status.OK ? Status.OK : Status.WARNING;
        return new Outcome(st, "monitor: " + m.status() + " (" + m.checks().size() + " checks)", details);
    }
}
