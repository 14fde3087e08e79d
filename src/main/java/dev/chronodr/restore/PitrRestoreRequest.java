package dev.chronodr.restore;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import dev.chronodr.crypto.KeyFiles;

/**
 * A restore to a moment. {@code launcher} is how the recovering server runs chrono-dr
 * for restore_command; {@code binDir} the server's programs (null: find them);
 * {@code tablespaceMap} new directories for tablespaces by name (the rest go back to
 * where they were, which must then be empty). {@code forceClean}: empty first the
 * directories a failed restore left (marked by {@link RestoreMark}), and only those.
 * {@code keys}: the secret key and passphrase files that decrypt an encrypted base backup
 * and WAL (null: none given; an encrypted file then fails, exit 3, before anything is written).
 */
public record PitrRestoreRequest(Path repo, RecoveryTarget target, Path dataDir, int port, List<String> launcher, Path binDir,
                                 Duration timeout, Map<String, Path> tablespaceMap, boolean forceClean, KeyFiles keys) {
    public PitrRestoreRequest {
        tablespaceMap = tablespaceMap == null ? Map.of() : Map.copyOf(tablespaceMap);
    }

    public PitrRestoreRequest(Path repo, RecoveryTarget target, Path dataDir, int port, List<String> launcher, Path binDir,
                              Duration timeout, Map<String, Path> tablespaceMap, boolean forceClean) {
        this(repo, target, dataDir, port, launcher, binDir, timeout, tablespaceMap, forceClean, null);
    }
}
