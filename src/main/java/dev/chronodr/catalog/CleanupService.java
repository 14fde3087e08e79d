package dev.chronodr.catalog;

import java.nio.file.Path;
import java.time.OffsetDateTime;

import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.Retention;
import dev.chronodr.repo.WalRetention;

/** The cleanup command's work in one call: retention over the backups, then over the WAL archive. */
public final class CleanupService {
    private CleanupService() {
    }

    public static CleanupResult run(Path repoDir, Integer retentionDays, Integer keepLast, boolean dryRun, OffsetDateTime now) {
        return run(new Repository(repoDir), retentionDays, keepLast, dryRun, now);
    }

    public static CleanupResult run(Repository repo, Integer retentionDays, Integer keepLast, boolean dryRun, OffsetDateTime now) {
        Retention.Outcome backups = Retention.apply(repo, retentionDays, keepLast, dryRun, now, PitrCatalog.walCheck(repo));
        // WAL after the base backups: what the survivors need decides what stays.
        WalRetention.Result wal = WalRetention.apply(repo, dryRun);
        return CleanupResult.of(repo.location(), dryRun, retentionDays, keepLast, backups,
                new CleanupResult.Wal(wal.deleted(), wal.bytesFreed(), wal.keptFrom(), wal.abandonedWrites()));
    }
}
