package dev.chronodr.recover;

import java.time.Duration;

/**
 * One recover run: {@code diagnoseOnly} stops after the read-only diagnosis;
 * {@code readyTimeout} bounds the wait for the server after a restart; {@code rto} is the
 * objective the total time is set against.
 */
public record RecoverRequest(boolean diagnoseOnly, Duration readyTimeout, Duration rto) {
    public RecoverRequest {
        if (readyTimeout.isNegative() || readyTimeout.isZero()) {
            throw new IllegalArgumentException("readyTimeout must be positive");
        }
    }
}
