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

    /**
     * With several repositories configured (repos:): the backups of {@code repo}, then those
     * only the others hold, each entry naming the repositories that hold a sound copy of it.
     */
    public static CatalogResult list(Repository repo, java.util.Map<String, Repository> named) {
        CatalogResult main = list(repo);
        if (named.size() < 2) {
            return main;
        }
        java.util.Map<String, java.util.List<String>> holders = new java.util.HashMap<>();
        java.util.List<CatalogResult.Entry> entries = new java.util.ArrayList<>(main.backups());
        java.util.Set<String> seen = new java.util.HashSet<>();
        main.backups().forEach(e -> seen.add(e.id()));
        for (java.util.Map.Entry<String, Repository> r : named.entrySet()) {
            Repository other = r.getValue();
            if (!other.remote() && !Files.isDirectory(other.root())) {
                continue; // not created yet: it holds nothing
            }
            BackupCatalog catalog = BackupCatalog.of(other);
            catalog.all().stream().filter(b -> b.state().sound())
                    .forEach(b -> holders.computeIfAbsent(b.id(), k -> new java.util.ArrayList<>()).add(r.getKey()));
            if (!other.location().equals(repo.location())) {
                for (CatalogResult.Entry e : CatalogResult.of(catalog).backups()) {
                    if (seen.add(e.id())) {
                        entries.add(e);
                    }
                }
            }
        }
        java.util.Comparator<CatalogResult.Entry> newestFirst = java.util.Comparator.comparing(
                (CatalogResult.Entry e) -> e.time() == null ? null : java.time.OffsetDateTime.parse(e.time()).toInstant(),
                java.util.Comparator.nullsLast(java.util.Comparator.reverseOrder()));
        return main.withBackups(entries.stream().sorted(newestFirst)
                .map(e -> e.heldBy(java.util.List.copyOf(holders.getOrDefault(e.id(), java.util.List.of())))).toList());
    }
}
