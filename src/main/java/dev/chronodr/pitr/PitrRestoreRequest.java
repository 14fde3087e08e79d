package dev.chronodr.pitr;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A restore to a moment. {@code launcher} is how the recovering server runs chrono-dr
 * for restore_command; {@code binDir} the server's programs (null: find them).
 */
public record PitrRestoreRequest(Path repo, RecoveryTarget target, Path dataDir, int port, List<String> launcher, Path binDir,
                                 Duration timeout) {
}
