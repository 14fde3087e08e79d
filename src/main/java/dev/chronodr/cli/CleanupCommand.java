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
                "With repos: in the config, each named repository gets its own retention (--repo NAME: that one only).",
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
        java.util.Map<String, dev.chronodr.repo.RepoLocation> named = services().namedRepos(target);
        String given = connection.repo.flag() != null ? connection.repo.flag() : cli().env().get("CHRONO_DR_REPO");
        if (given == null && !named.isEmpty()) {
            // Every named repository, each with its own retention (and repo: too, when it is none of them).
            java.util.List<dev.chronodr.catalog.CleanupResults.Named> all = new java.util.ArrayList<>();
            named.forEach((name, where) -> all.add(new dev.chronodr.catalog.CleanupResults.Named(name, run(where, target, name))));
            if (target.config().repo != null && !named.containsValue(target.repo())) {
                all.add(new dev.chronodr.catalog.CleanupResults.Named("repo", run(target.repo(), target, null)));
            }
            return new dev.chronodr.catalog.CleanupResults(all);
        }
        return run(target.repo(), target, given != null && named.containsKey(given) ? given : null);
    }

    private dev.chronodr.catalog.CleanupResult run(dev.chronodr.repo.RepoLocation where, Target target, String name) {
        BackupSection.Rule rule = BackupSection.retention(retentionDays, keepLast, target, name);
        return CleanupService.run(dev.chronodr.repo.Repository.open(where), rule.days(), rule.keepLast(), dryRun, Clock.now());
    }
}
