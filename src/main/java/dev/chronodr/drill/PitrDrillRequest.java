package dev.chronodr.drill;

import java.time.Duration;
import java.util.List;

/**
 * A point-in-time recovery drill: take a fresh base backup or use the newest good one,
 * verify the copy deeply or not, the objectives, how the recovering server runs chrono-dr
 * for restore_command ({@code launcher}), how long to wait for the archiver and for
 * recovery.
 */
public record PitrDrillRequest(boolean fresh, boolean deep, Duration rto, Duration rpo, List<String> launcher, Duration archiveWait,
                               Duration recoveryTimeout) {
    public PitrDrillRequest {
        launcher = List.copyOf(launcher);
    }
}
