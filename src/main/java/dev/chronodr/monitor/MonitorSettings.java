package dev.chronodr.monitor;

/**
 * The levels and knobs the checks judge with, resolved from flags, config and defaults.
 *
 * @param tableMinRows       tables with fewer live+dead tuples are left out of the table checks
 * @param statementMinCalls  statements called fewer times are left out of slow_statements
 * @param cacheHitMinBlocks  below this many block reads the cache hit ratio is not judged
 */
public record MonitorSettings(Thresholds thresholds, long tableMinRows, long statementMinCalls, long cacheHitMinBlocks) {
    public static final long DEFAULT_TABLE_MIN_ROWS = 1000;
    public static final long DEFAULT_STATEMENT_MIN_CALLS = 5;
    public static final long DEFAULT_CACHE_HIT_MIN_BLOCKS = 10_000;

    public static MonitorSettings defaults() {
        return new MonitorSettings(Thresholds.defaults(), DEFAULT_TABLE_MIN_ROWS, DEFAULT_STATEMENT_MIN_CALLS,
                DEFAULT_CACHE_HIT_MIN_BLOCKS);
    }
}
