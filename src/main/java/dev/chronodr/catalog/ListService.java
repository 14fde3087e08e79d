package dev.chronodr.catalog;

import java.nio.file.Files;

import dev.chronodr.core.ChronoException;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.PitrSummary;
import dev.chronodr.repo.Repository;

/** The list command's work: the repository's catalog and the window point-in-time recovery reaches. */
public final class ListService {
    private ListService() {
    }

    /** A repository that does not exist is an error (exit 1): usually a mistyped path or an unmounted disk. */
    public static CatalogResult list(Repository repo) {
        if (!repo.remote() && !Files.isDirectory(repo.root())) {
            throw ChronoException.failed("the backup repository " + repo.location() + " does not exist",
                    "check --repo or the config's repo; is the backup disk mounted?");
        }
        BackupCatalog backups = BackupCatalog.of(repo);
        CatalogResult catalog = CatalogResult.of(backups);
        return PitrSummary.of(PitrCatalog.of(repo).onlyRestorable(backups))
                .map(p -> catalog.withPointInTime(new CatalogResult.Pitr(p.baseBackups(), p.walSegments(), p.walBytes(),
                        p.oldestSegment(), p.newestSegment(), p.earliestReachable(), p.latestReachable())))
                .orElse(catalog);
    }
}
