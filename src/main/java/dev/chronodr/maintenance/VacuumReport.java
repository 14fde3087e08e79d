package dev.chronodr.maintenance;

import java.util.List;
import java.util.Locale;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/**
 * The plan (dry run) or the summary of a run: each table with its statements, dead tuples
 * before and after and time taken; database-wide statements; indexes that need attention;
 * free space and pg_repack for VACUUM FULL. Exit 0 when everything was done, 1 when any
 * table was skipped or failed.
 */
public record VacuumReport(String database, String serverVersion, boolean dryRun, String sessionSetup,
                           long lockTimeoutMs, Selection selection, int jobs, String jobsNote,
                           List<TableReport> tables, List<StepResult> databaseSteps, List<IndexNote> indexes,
                           List<FreeSpace> freeSpace, RepackOffer pgRepack, List<String> warnings, Summary summary)
        implements CommandResult {

    /** How tables were chosen, and how many of how many. */
    public record Selection(List<String> tables, Double minDeadPercent, Long minXidAge, int considered, int selected) {
    }

    public record Summary(int done, int skipped, int failed, long elapsedMs) {
    }

    static VacuumReport of(VacuumPlan plan, List<TableReport> tables, List<StepResult> databaseSteps, long elapsedMs,
                           boolean dryRun) {
        VacuumRequest r = plan.request();
        int done = (int) tables.stream().filter(t -> t.status() == Outcome.DONE).count();
        int skipped = (int) tables.stream().filter(t -> t.status() == Outcome.SKIPPED).count();
        int failed = (int) tables.stream().filter(t -> t.status() == Outcome.FAILED).count();
        List<String> warnings = new java.util.ArrayList<>(plan.dangers());
        warnings.addAll(plan.warnings());
        return new VacuumReport(plan.database(), plan.serverVersion(), dryRun, r.sessionSetup(), r.lockTimeout().toMillis(),
                new Selection(r.tables(), r.minDeadPercent(), r.minXidAge(), plan.tablesConsidered(), plan.tables().size()),
                plan.jobs(), plan.jobsNote(), tables, databaseSteps, plan.indexNotes(), plan.freeSpace(), plan.repack(),
                warnings, new Summary(done, skipped, failed, elapsedMs));
    }

    static VacuumReport dryRun(VacuumPlan plan) {
        return of(plan, plan.tables().stream().map(TableReport::planned).toList(),
                plan.databaseSteps().stream().map(StepResult::planned).toList(), 0, true);
    }

    @Override
    public ExitCode exitCode() {
        if (dryRun) {
            return ExitCode.OK;
        }
        boolean allDone = tables.stream().allMatch(t -> t.status() == Outcome.DONE)
                && databaseSteps.stream().allMatch(s -> s.status() == Outcome.DONE);
        return allDone ? ExitCode.OK : ExitCode.FAILED;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line((dryRun ? "Plan for database " : "Vacuum of database ") + database + " (PostgreSQL " + serverVersion + ")"
                + (dryRun ? ": dry run, nothing was changed" : ""));
        out.field("selection", selectionText());
        out.field("every session", sessionSetup + " (a statement gives up instead of queueing behind a lock)");
        out.field("jobs", jobs + (jobsNote == null ? "" : " (" + jobsNote + ")"));
        for (String w : warnings) {
            out.line("  warning: " + w);
        }
        if (tables.isEmpty()) {
            out.line("  no table qualifies; nothing to do");
        }
        int width = Math.min(40, tables.stream().mapToInt(t -> t.table().length()).max().orElse(0));
        int n = 0;
        for (TableReport t : tables) {
            n++;
            if (dryRun) {
                out.line(String.format(Locale.ROOT, "%3d. %s  %s%s, dead %d of %d (%.1f%%), xid age %d", n, t.table(),
                        TextOutput.bytes(t.estimatedBytes()), t.sizeEstimated() ? " (estimated)" : "",
                        t.deadTuplesBefore(), t.liveTuples() + t.deadTuplesBefore(), t.deadPercentBefore(), t.xidAgeBefore()));
                out.line("       why: " + String.join("; ", t.reasons()));
                for (StepResult s : t.steps()) {
                    out.line("       " + s.sql() + ";");
                }
            } else {
                out.line(String.format(Locale.ROOT, "  %-8s %-" + width + "s  dead %d -> %s, xid age %d -> %s, %s", t.status(), t.table(),
                        t.deadTuplesBefore(), t.deadTuplesAfter() == null ? "?" : t.deadTuplesAfter(), t.xidAgeBefore(),
                        t.xidAgeAfter() == null ? "?" : t.xidAgeAfter(),
                        TextOutput.duration(java.time.Duration.ofMillis(t.durationMs() == null ? 0 : t.durationMs()))));
                if (t.reason() != null) {
                    out.line("           " + t.reason());
                }
                for (StepResult s : t.steps()) {
                    if (s.status() != Outcome.DONE) {
                        continue;
                    }
                    boolean vacuum = s.kind() == Step.Kind.VACUUM || s.kind() == Step.Kind.VACUUM_FULL;
                    if (!vacuum) {
                        // The table line speaks of the vacuum; every other statement says that it ran.
                        out.line("           done: " + TableReport.statementHead(s.sql()) + " " + s.target()
                                + (s.durationMs() == null ? "" : " (" + TextOutput.duration(java.time.Duration.ofMillis(s.durationMs())) + ")")
                                + (s.message() == null ? "" : ": " + s.message()));
                    } else if (s.message() != null) {
                        out.line("           note: " + s.sql() + ": " + s.message());
                    }
                }
            }
        }
        for (StepResult s : databaseSteps) {
            out.line(dryRun ? "  database: " + s.sql() + ";"
                    : String.format(Locale.ROOT, "  %-8s %s%s", s.status(), s.sql(), s.message() == null ? "" : ": " + s.message()));
        }
        for (IndexNote i : indexes) {
            out.line("  index " + i.index() + " on " + i.table() + ": " + i.problem() + "; " + i.action());
        }
        if (!dryRun) {
            out.line(String.format(Locale.ROOT, "%d done, %d skipped, %d failed in %s", summary.done(), summary.skipped(),
                    summary.failed(), TextOutput.duration(java.time.Duration.ofMillis(summary.elapsedMs()))));
        }
        return out.build();
    }

    private String selectionText() {
        StringBuilder b = new StringBuilder();
        if (selection.tables().isEmpty()) {
            b.append("all tables");
        } else {
            b.append("tables ").append(String.join(", ", selection.tables()));
        }
        if (selection.minDeadPercent() != null || selection.minXidAge() != null) {
            b.append(" with");
            if (selection.minDeadPercent() != null) {
                b.append(" dead tuples >= ").append(VacuumPlanner.number(selection.minDeadPercent())).append('%');
            }
            if (selection.minDeadPercent() != null && selection.minXidAge() != null) {
                b.append(" or");
            }
            if (selection.minXidAge() != null) {
                b.append(" transaction ID age >= ").append(selection.minXidAge());
            }
        }
        return b.append(": ").append(selection.selected()).append(" of ").append(selection.considered()).append(" selected").toString();
    }
}
