package dev.chronodr.maintenance;

import java.time.OffsetDateTime;

/** A statement and what happened when it ran (or, in a dry run, that it would run). */
public record StepResult(Step.Kind kind, String target, String sql, Outcome status, OffsetDateTime startedAt,
                         OffsetDateTime finishedAt, Long durationMs, String message) {

    static StepResult planned(Step s) {
        return new StepResult(s.kind(), s.target(), s.sql(), Outcome.PLANNED, null, null, null, null);
    }

    static StepResult notRun(Step s) {
        return new StepResult(s.kind(), s.target(), s.sql(), Outcome.NOT_RUN, null, null, null, null);
    }
}
