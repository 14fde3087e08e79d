package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import dev.chronodr.config.Target;
import dev.chronodr.wal.RestorePointService;
import dev.chronodr.report.CommandResult;

@Command(name = "restore-point",
        description = {"Create a named restore point (pg_create_restore_point) and record it in the repository.",
                "Make one before a risky migration, so that point-in-time recovery can stop right there.",
                "Exit 0 created, 1 failed, 64 bad input."})
public final class RestorePointCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Parameters(index = "0", paramLabel = "NAME", description = "Name of the restore point (1-63 characters).")
    String name;

    @Override
    protected CommandResult execute() {
        Target target = services().target(connection);
        return new RestorePointService().create(target.connection(), dev.chronodr.repo.Repository.open(target.repo()), name);
    }
}
