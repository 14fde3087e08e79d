package dev.chronodr.drill;

import java.time.Duration;
import java.util.List;

import dev.chronodr.crypto.KeyFiles;
import dev.chronodr.crypto.Recipients;

/**
 * A point-in-time recovery drill: take a fresh base backup or use the newest good one,
 * verify the copy deeply or not, the objectives, how the recovering server runs chrono-dr
 * for restore_command ({@code launcher}), how long to wait for the archiver and for
 * recovery; what a fresh base backup is encrypted to and what decrypts the base backup and
 * WAL (null: none).
 */
public record PitrDrillRequest(boolean fresh, boolean deep, Duration rto, Duration rpo, List<String> launcher, Duration archiveWait,
                               Duration recoveryTimeout, Recipients recipients, KeyFiles keys) {
    public PitrDrillRequest {
        launcher = List.copyOf(launcher);
    }

    public PitrDrillRequest(boolean fresh, boolean deep, Duration rto, Duration rpo, List<String> launcher, Duration archiveWait,
                            Duration recoveryTimeout) {
        this(fresh, deep, rto, rpo, launcher, archiveWait, recoveryTimeout, null, null);
    }
}
