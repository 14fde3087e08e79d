package dev.chronodr.repo;

import java.nio.file.Path;
import java.time.OffsetDateTime;

/** The cleanup command's work in one call: retention over the backups, then over the WAL archive. */
public final class Cleanup {
    private Cleanup() {
    }

    public static CleanupResult run(Path repoDir, Integer retentionDays, Integer keepLast, boolean dryRun, OffsetDateTime now) {
        CleanupResult result = Retention.apply(new Repository(repoDir), retentionDays, keepLast, dryRun, now, PitrCatalog.walCheck(repoDir));
        // WAL after the base backups: what the survivors need decides what stays.
        WalRetention.Result wal = WalRetention.apply(repoDir, dryRun);
        return result.withWal(new CleanupResult.Wal(wal.deleted(), wal.bytesFreed(), wal.keptFrom()));
    }
}
