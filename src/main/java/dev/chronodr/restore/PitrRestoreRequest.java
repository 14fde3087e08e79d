package dev.chronodr.restore;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import dev.chronodr.crypto.KeyFiles;
import dev.chronodr.repo.RepoLocation;

/**
 * A restore to a moment. {@code launcher} is how the recovering server runs chrono-dr
 * for restore_command; {@code binDir} the server's programs (null: find them);
 * {@code tablespaceMap} new directories for tablespaces by name (the rest go back to
 * where they were, which must then be empty). {@code forceClean}: empty first the
 * directories a failed restore left (marked by {@link RestoreMark}), and only those.
 * {@code keys}: the secret key and passphrase files that decrypt an encrypted base backup
 * and WAL (null: none given; an encrypted file then fails, exit 3, before anything is written).
 * {@code repo}: a directory or s3://BUCKET/PREFIX (the base backup is then copied into the
 * spool, and the recovering server's environment gets the AWS settings for wal-fetch).
 */
public record PitrRestoreRequest(RepoLocation repo, RecoveryTarget target, Path dataDir, int port, List<String> launcher, Path binDir,
                                 Duration timeout, Map<String, Path> tablespaceMap, boolean forceClean, KeyFiles keys) {
    public PitrRestoreRequest {
        tablespaceMap = tablespaceMap == null ? Map.of() : Map.copyOf(tablespaceMap);
    }

    /** From a repository directory. */
    public PitrRestoreRequest(Path repo, RecoveryTarget target, Path dataDir, int port, List<String> launcher, Path binDir,
                              Duration timeout, Map<String, Path> tablespaceMap, boolean forceClean, KeyFiles keys) {
        this(RepoLocation.local(repo), target, dataDir, port, launcher, binDir, timeout, tablespaceMap, forceClean, keys);
    }

    public PitrRestoreRequest(Path repo, RecoveryTarget target, Path dataDir, int port, List<String> launcher, Path binDir,
                              Duration timeout, Map<String, Path> tablespaceMap, boolean forceClean) {
        this(repo, target, dataDir, port, launcher, binDir, timeout, tablespaceMap, forceClean, null);
    }
}
