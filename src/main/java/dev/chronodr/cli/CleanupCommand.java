package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.catalog.CleanupService;
import dev.chronodr.config.BackupSection;
import dev.chronodr.report.CommandResult;

@Command(name = "cleanup", sortOptions = false,
        description = {"Apply retention: delete backups older than N days and beyond the newest N, never the newest full backup.",
                "Without options: the target's backup.retention_days, else 30 days. The backup that protects a database must pass",
                "a checksum check first; damaged backups are reported, never counted, never deleted automatically.",
                "Exit 0 done, 1 a database kept everything because none of its backups passed, 64 bad input."})
public final class CleanupCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--retention-days", paramLabel = "N", description = "Keep backups younger than N days.")
    Integer retentionDays;

    @Option(names = "--keep-last", paramLabel = "N", description = "Keep the newest N backups of each database.")
    Integer keepLast;

    @Option(names = "--dry-run", description = "Say what would be deleted; delete nothing.")
    boolean dryRun;

    @Override
    protected CommandResult execute() {
        if ((retentionDays != null && retentionDays < 0) || (keepLast != null && keepLast < 0)) {
            throw ChronoException.usage("--retention-days and --keep-last must be 0 or more", null);
        }
        Target target = services().target(connection);
        Integer days = BackupSection.retentionDays(retentionDays, keepLast, target);
        return CleanupService.run(dev.chronodr.repo.Repository.open(target.repo()), days, keepLast, dryRun, Clock.now());
    }
}
