package dev.chronodr.maintenance;

/** One statement of the plan, exactly as it is sent to the server. */
public record Step(Kind kind, String target, String sql) {
    public enum Kind {
        VACUUM,
        VACUUM_FULL,
        REINDEX_INDEX_CONCURRENTLY,
        DROP_LEFTOVER_INDEX,
        REINDEX_TABLE,
        REINDEX_DATABASE;

        /** Statements that build or drop an index concurrently leave an invalid copy when they fail. */
        boolean concurrentIndexBuild() {
            return this == REINDEX_INDEX_CONCURRENTLY;
        }
    }
}
