package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import dev.chronodr.catalog.ListService;
import dev.chronodr.report.CommandResult;

@Command(name = "list", description = {"List the backups in the repository, newest first, each with its state.",
        "States: complete, verified, damaged, empty, foreign or partial (docs/backup.md). The runbook's legacy .sql/.sql.gz",
        "files are listed too. With several repositories (repos:), a column names those that hold each backup. Exit 0 listed, 1 the repository does not exist (a mistyped path or an unmounted disk)."})
public final class ListCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Override
    protected CommandResult execute() {
        dev.chronodr.config.Target target = services().target(connection);
        java.util.Map<String, dev.chronodr.repo.Repository> named = new java.util.LinkedHashMap<>();
        services().namedRepos(target).forEach((name, where) -> named.put(name, dev.chronodr.repo.Repository.open(where)));
        return ListService.list(services().repository(target), named);
    }
}
