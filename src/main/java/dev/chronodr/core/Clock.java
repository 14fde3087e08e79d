package dev.chronodr.core;

import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;

/** Timestamps as they appear in output: ISO-8601 with offset, to the millisecond. */
public final class Clock {
    private Clock() {
    }

    public static OffsetDateTime now() {
        return OffsetDateTime.now(ZoneId.systemDefault()).truncatedTo(ChronoUnit.MILLIS);
    }
}
