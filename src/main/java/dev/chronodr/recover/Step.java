package dev.chronodr.recover;

import java.time.OffsetDateTime;
import java.util.List;

import dev.chronodr.core.Status;

/**
 * One step of a recovery as it happened: when it started, how long it took, how it ended
 * (OK, WARNING when it went on with a caveat, CRITICAL when it failed, SKIPPED), one line for
 * people and the details behind it.
 */
public record Step(String name, Status status, OffsetDateTime startedAt, long millis, String summary, List<String> details) {
    public Step {
        details = details == null ? List.of() : List.copyOf(details);
    }
}
