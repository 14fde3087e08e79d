package dev.chronodr.maintenance;

/** What became of a table or a statement. */
public enum Outcome {
    /** Dry run: what would run. */
    PLANNED,
    DONE,
    /** Gave up without harm: lock not granted in time, no privilege, not enough disk, table gone. */
    SKIPPED,
    FAILED,
    /** An earlier statement for the same table did not succeed, so this one was not tried. */
    NOT_RUN
}
