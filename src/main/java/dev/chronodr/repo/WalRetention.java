package dev.chronodr.repo;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.ChronoException;

/**
 * Keeps every archived WAL segment that a retained base backup needs (from the oldest
 * base backup's first segment on) and removes the older ones. With no base backup left
 * nothing is removed: the archive may be feeding a base backup being taken now.
 * Timeline history files are always kept. Temp files that killed pushes left behind are
 * removed once they are an hour old, base backups or not.
 */
public final class WalRetention {
    private static final Logger LOG = LoggerFactory.getLogger(WalRetention.class);

    private WalRetention() {
    }

    /** A push that has not finished its temp file within this long was killed; none takes that long. */
    static final Duration ABANDONED_AFTER = Duration.ofHours(1);

    /** {@code abandonedWrites}: temp files of killed pushes removed (or, dry run, that would be). */
    public record Result(List<String> deleted, long bytesFreed, String keptFrom, int abandonedWrites) {
    }

    public static Result apply(Path repo, boolean dryRun) {
        return apply(new Repository(repo), dryRun);
    }

    public static Result apply(Repository repo, boolean dryRun) {
        int abandoned;
        try {
            List<Storage.StoredObject> temps = new WalArchive(repo).removeAbandonedWrites(Instant.now().minus(ABANDONED_AFTER), dryRun);
            abandoned = temps.size();
            if (abandoned > 0) {
                LOG.info("{} {} unfinished WAL write(s) left by killed wal-push runs", dryRun ? "would remove" : "removed", abandoned);
            }
        } catch (IOException ex) {
            throw ChronoException.failed("cannot remove unfinished WAL writes: " + ex.getMessage(), null);
        }
        PitrCatalog catalog = PitrCatalog.of(repo);
        if (catalog.bases().isEmpty()) {
            return new Result(List.of(), 0, null, abandoned);
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
        return new Result(deleted, freed, oldestNeeded, abandoned);
    }
}
