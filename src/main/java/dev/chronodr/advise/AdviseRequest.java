package dev.chronodr.advise;

/**
 * What {@code chrono-dr advise} looks at: indexes and tables from {@code minBytes} up,
 * sequential-scan findings on tables from {@code seqScanMinRows} rows, foreign keys whose
 * referencing table has at least {@code foreignKeyMinRows} rows, bloat from
 * {@code bloatMinPercent}, and the {@code statements} slowest statements.
 */
public record AdviseRequest(long minBytes, long seqScanMinRows, long foreignKeyMinRows, double bloatMinPercent, int statements) {
    public static final long MIN_BYTES = 1L << 20;
    public static final long SEQ_SCAN_MIN_ROWS = 10_000;
    public static final long FOREIGN_KEY_MIN_ROWS = 1_000;
    public static final double BLOAT_MIN_PERCENT = 30;
    public static final int STATEMENTS = 5;
}
