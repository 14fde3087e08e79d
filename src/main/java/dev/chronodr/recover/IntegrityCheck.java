package dev.chronodr.recover;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import dev.chronodr.config.Target;
import dev.chronodr.config.VerifySection;
import dev.chronodr.core.Progress;
import dev.chronodr.core.Status;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.verify.CheckResult;
import dev.chronodr.verify.CriticalRowCountCheck;
import dev.chronodr.verify.DatabaseChecks;
import dev.chronodr.verify.Scope;
import dev.chronodr.verify.VerifyCheck;
import dev.chronodr.verify.VerifyContext;
import dev.chronodr.verify.VerifyReport;
import dev.chronodr.verify.VerifyRequest;
import dev.chronodr.verify.VerifyService;

/**
 * After a restart or a restore: verify's quick checks (invalid indexes, amcheck's B-tree and
 * heap checks, checksum failures) on the critical tables (all tables when none are
 * configured), and the critical tables' row counts against the newest good backup. The
 * foreign-key scan and the NOT VALID constraints are left to a full {@code chrono-dr verify}.
 */
final class IntegrityCheck {
    /** The verdict: corrupt when any check is CRITICAL; the lines name each check that is not OK. */
    record Outcome(boolean corrupt, Status status, String summary, List<String> details) {
    }

    private static final String CHECKSUMS = "checksums";
    private static final Set<String> LEFT_OUT = Set.of("foreign-keys", "not-valid-constraints", "controldata");

    private IntegrityCheck() {
    }

    static Outcome run(Target target, ProcessRunner runner, ToolLocator locator) {
        VerifySection.RowDrop drop = VerifySection.rowDrop(target);
        List<VerifyCheck> checks = new ArrayList<>(DatabaseChecks.standard());
        checks.add(new CriticalRowCountCheck(drop.warningPercent(), drop.criticalPercent()));
        VerifyRequest request = new VerifyRequest(new Scope(List.of(), target.criticalTables()), Set.of(), LEFT_OUT, 1, null, null);
        VerifyReport report = new VerifyService(checks).verify(new VerifyContext(target, request, runner, locator, Progress.NONE));
        List<String> details = new ArrayList<>();
        int ran = 0;
        Status status = Status.OK;
        String db = target.connection().dbname();
        for (CheckResult c : report.checks()) {
            if (c.status() == Status.SKIPPED) {
                continue;
            }
            ran++;
            Status s = c.status();
            if (c.name().equals(CHECKSUMS) && s == Status.CRITICAL
                    && c.findings().stream().noneMatch(f -> f.status() == Status.CRITICAL && db.equals(f.object()))) {
                // The counters are per database and cluster-wide: failures in another one (the damaged
                // database a restore kept, say) are not this database's, and a restore of it would not help.
                s = Status.WARNING;
                details.add(c.name() + ": " + c.summary() + ", none in " + db + " (other databases: run verify on them)");
            } else if (s != Status.OK) {
                details.add(c.name() + ": " + s + " " + c.summary());
            }
            status = Status.worst(List.of(status, s));
        }
        String scope = target.criticalTables().isEmpty() ? "all tables" : "critical tables " + String.join(", ", target.criticalTables());
        String summary = switch (status) {
            case CRITICAL -> "corruption found (" + scope + ")";
            case OK, SKIPPED -> ran + " checks OK (" + scope + ")";
            default -> ran + " checks, none found corruption; see the lines below (" + scope + ")";
        };
        return new Outcome(status == Status.CRITICAL, status, summary, details);
    }
}
