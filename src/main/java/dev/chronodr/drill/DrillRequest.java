package dev.chronodr.drill;

import java.time.Duration;

import dev.chronodr.config.Target;

/**
 * A drill: which backup (a fresh one unless {@code backupId} or {@code latest}), how
 * deep to compare, where to restore ({@code restoreTo} null: beside the source), and the
 * objectives to measure against; {@code statementTimeout} bounds each check of the restored
 * copy (zero: none).
 */
public record DrillRequest(String backupId, boolean latest, boolean deep, boolean keep, int jobs,
                           Duration rto, Duration rpo, Target restoreTo, Duration statementTimeout) {
    public DrillRequest {
        statementTimeout = statementTimeout == null ? dev.chronodr.verify.VerifyRequest.DEFAULT_STATEMENT_TIMEOUT : statementTimeout;
    }
}
