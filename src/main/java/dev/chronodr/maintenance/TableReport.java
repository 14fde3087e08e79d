package dev.chronodr.maintenance;

import java.util.List;

/**
 * One table in the plan or the summary: why it was chosen, its size and dead tuples
 * before, and (after a run) what happened, its dead tuples after and the time taken.
 *
 * @param deadTuplesAfter null when not known: the table was not vacuumed, or VACUUM FULL
 *                        without ANALYZE, which leaves the statistics as they were
 */
public record TableReport(String table, List<String> reasons, long estimatedBytes, boolean sizeEstimated,
                          long liveTuples, long deadTuplesBefore, double deadPercentBefore, long xidAgeBefore,
                          Outcome status, String reason, Long deadTuplesAfter, Long xidAgeAfter, Long durationMs,
                          List<StepResult> steps) {

    static TableReport planned(PlannedTable p) {
        TableStats t = p.table();
        return new TableReport(t.qualified(), p.reasons(), t.totalBytes(), t.sizeEstimated(), t.liveTuples(),
                t.deadTuples(), round(t.deadPercent()), t.xidAge(), Outcome.PLANNED, null, null, null, null,
                p.steps().stream().map(StepResult::planned).toList());
    }

    static TableReport ran(PlannedTable p, List<StepResult> steps, Long deadAfter, Long xidAgeAfter, long durationMs) {
        TableStats t = p.table();
        Outcome status = Outcome.DONE;
        String reason = null;
        for (StepResult s : steps) {
            if (s.status() == Outcome.FAILED) {
                status = Outcome.FAILED;
            } else if (s.status() == Outcome.SKIPPED && status == Outcome.DONE) {
                status = Outcome.SKIPPED;
            }
            if (reason == null && (s.status() == Outcome.FAILED || s.status() == Outcome.SKIPPED)) {
                reason = statementHead(s.sql()) + " " + s.target() + ": " + s.message();
            }
        }
        return new TableReport(t.qualified(), p.reasons(), t.totalBytes(), t.sizeEstimated(), t.liveTuples(),
                t.deadTuples(), round(t.deadPercent()), t.xidAge(), status, reason, deadAfter, xidAgeAfter, durationMs,
                List.copyOf(steps));
    }

    /** "VACUUM (ANALYZE)", "REINDEX INDEX CONCURRENTLY": the statement up to its first identifier. */
    static String statementHead(String sql) {
        int quote = sql.indexOf('"');
        return (quote > 0 ? sql.substring(0, quote) : sql).strip();
    }

    private static double round(double d) {
        return Math.round(d * 10) / 10.0;
    }
}
