package dev.chronodr.repo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.ChronoException;

/**
 * Keeps every archived WAL segment that a retained base backup needs (from the oldest
 * base backup's first segment on) and removes the older ones. With no base backup left
 * nothing is removed: the archive may be feeding a base backup being taken now.
 * Timeline history files are always kept.
 */
public final class WalRetention {
    private WalRetention() {
    }

    public record Result(List<String> deleted, long bytesFreed, String keptFrom) {
    }

    public static Result apply(Path repo, boolean dryRun) {
        PitrCatalog catalog = PitrCatalog.of(repo);
        if (catalog.bases().isEmpty()) {
            return new Result(List.of(), 0, null);
        }
        String oldestNeeded = catalog.bases().stream().map(PhysicalBackupInfo::startWalFile).min(String::compareTo).orElseThrow();
        WalArchive archive = new WalArchive(repo);
        List<String> deleted = new ArrayList<>();
        long freed = 0;
        for (WalArchive.Entry e : catalog.wal()) {
            if (!e.isSegment() || e.name().length() != 24 || e.name().compareTo(oldestNeeded) >= 0) {
                continue;
            }
            if (!dryRun) {
                try {
                    archive.delete(e);
                } catch (IOException ex) {
                    throw ChronoException.failed("cannot delete WAL segment " + e.name() + ": " + ex.getMessage(), null);
                }
            }
            deleted.add(e.name());
            freed += e.storedBytes();
        }
        return new Result(deleted, freed, oldestNeeded);
    }
}
