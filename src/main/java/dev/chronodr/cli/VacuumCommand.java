package dev.chronodr.cli;

import java.util.List;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.Target;
import dev.chronodr.maintenance.VacuumPlan;
import dev.chronodr.maintenance.VacuumRequest;
import dev.chronodr.maintenance.VacuumService;
import dev.chronodr.report.CommandResult;

@Command(name = "vacuum", sortOptions = false,
        description = {"VACUUM, ANALYZE and REINDEX CONCURRENTLY without taking the site down.",
                "Every statement gives up after --lock-timeout instead of queueing behind a lock; tables it had to skip "
                + "are listed and the run goes on.",
                "VACUUM FULL and blocking REINDEX only when asked, and confirmed.",
                "Exit 0 all done, 1 some tables skipped or failed, 64 refused (bad options, unknown table, not confirmed)."})
public final class VacuumCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--analyze", description = "VACUUM (ANALYZE): refresh the planner's statistics too.")
    boolean analyze;

    @Option(names = "--tables", split = ",", paramLabel = "TABLE",
            description = "Only these tables (comma-separated or repeated): schema.table, or a name unique across schemas, "
                    + "as stored in the catalog. A partitioned table means its partitions. Default: every user table.")
    List<String> tables;

    @Option(names = "--min-dead-percent", paramLabel = "N",
            description = "Only tables whose dead tuples are at least N%% of their tuples (per the statistics).")
    Double minDeadPercent;

    @Option(names = "--min-xid-age", paramLabel = "N",
            description = "Only tables whose transaction-ID age (table or its TOAST) is at least N. "
                    + "With --min-dead-percent, a table qualifies by either.")
    Long minXidAge;

    @Option(names = "--reindex",
            description = "Also rebuild each index of the selected tables with REINDEX INDEX CONCURRENTLY (invalid ones too), "
                    + "and drop leftovers of a failed REINDEX CONCURRENTLY.")
    boolean reindex;

    @Option(names = "--blocking",
            description = "With --reindex: plain, blocking REINDEX instead (REINDEX DATABASE when the whole database is in scope, "
                    + "else REINDEX TABLE). Blocks writes. Needs confirmation.")
    boolean blocking;

    @Option(names = "--full",
            description = "VACUUM FULL: rewrites each table under an ACCESS EXCLUSIVE lock (no reads or writes until done) "
                    + "and needs free disk for a copy. Needs confirmation.")
    boolean full;

    @Option(names = "--yes", description = "Confirm --full or --blocking without being asked (needed without a terminal).")
    boolean yes;

    @Option(names = "--lock-timeout", paramLabel = "DURATION", defaultValue = "5s",
            description = "How long any statement may wait for a lock before giving up on that table: 500ms, 5s, 2min "
                    + "(default ${DEFAULT-VALUE}).")
    String lockTimeout;

    @Option(names = "--dry-run", description = "Print the plan (tables, why, size, the exact statements) and change nothing.")
    boolean dryRun;

    @Option(names = "--jobs", paramLabel = "N", defaultValue = "1",
            description = "Tables in parallel, at most N connections, and never more than half the server's free connection slots "
                    + "(default ${DEFAULT-VALUE}).")
    int jobs;

    @Override
    protected CommandResult execute() {
        VacuumRequest request = new VacuumRequest(tables, analyze, minDeadPercent, minXidAge, reindex, blocking, full,
                VacuumRequest.parseLockTimeout(lockTimeout), dryRun, jobs);
        Target target = services().target(connection);
        VacuumService service = new VacuumService();
        VacuumPlan plan = service.plan(target, request);
        if (dryRun) {
            return service.dryRun(plan);
        }
        if (plan.needsConfirmation()) {
            // Before the question, or for a reader of stderr when stdout is for a program; with --yes
            // in text the report on stdout carries them, and twice is once too many.
            if (!output.quiet && (!yes || !"text".equalsIgnoreCase(output.format))) {
                plan.dangers().forEach(d -> cli().err().println("warning: " + d));
                cli().err().flush();
            }
            Confirmation.require(cli(), yes, plan.confirmationAction());
        }
        return service.run(target, plan, services().progress());
    }
}
