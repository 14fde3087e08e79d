package dev.chronodr.audit;

/** One check as it ran: RAN (every part), PARTIAL (some parts skipped) or SKIPPED. */
public record CheckSummary(String id, String title, String status, int findings) {
    public static final String RAN = "RAN";
    public static final String PARTIAL = "PARTIAL";
    public static final String SKIPPED = "SKIPPED";
}
