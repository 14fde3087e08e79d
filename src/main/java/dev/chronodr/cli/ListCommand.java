package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import dev.chronodr.config.TargetResolver;
import dev.chronodr.repo.CatalogResult;
import dev.chronodr.repo.Repository;
import dev.chronodr.report.CommandResult;

@Command(name = "list", description = {"List the backups in the repository, newest first, including the runbook's legacy .sql/.sql.gz files."})
public final class ListCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Override
    protected CommandResult execute() {
        return CatalogResult.of(new Repository(new TargetResolver(cli().env()).resolve(connection.request()).repo()));
    }
}
