package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import dev.chronodr.core.ChronoException;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.CatalogResult;
import dev.chronodr.repo.PitrSummary;
import dev.chronodr.repo.Repository;
import dev.chronodr.report.CommandResult;

@Command(name = "list", description = {"List the backups in the repository, newest first, each with its state.",
        "States: complete, verified, damaged, empty, foreign or partial (docs/backup.md). The runbook's legacy .sql/.sql.gz",
        "files are listed too. Exit 0 listed, 1 the repository does not exist (a mistyped path or an unmounted disk)."})
public final class ListCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Override
    protected CommandResult execute() {
        Repository repo = services().repository(services().target(connection));
        if (!java.nio.file.Files.isDirectory(repo.root())) {
            throw ChronoException.failed("the backup repository " + repo.root() + " does not exist",
                    "check --repo or the config's repo; is the backup disk mounted?");
        }
        BackupCatalog backups = BackupCatalog.of(repo);
        CatalogResult catalog = CatalogResult.of(backups);
        return PitrSummary.of(PitrCatalog.of(repo.root()).onlyRestorable(backups))
                .map(p -> catalog.withPointInTime(new CatalogResult.Pitr(p.baseBackups(), p.walSegments(), p.walBytes(),
                        p.oldestSegment(), p.newestSegment(), p.earliestReachable(), p.latestReachable())))
                .orElse(catalog);
    }
}
