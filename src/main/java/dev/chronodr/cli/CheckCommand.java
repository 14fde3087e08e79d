package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import dev.chronodr.check.CheckService;
import dev.chronodr.report.CommandResult;

@Command(name = "check", sortOptions = false,
        description = {"Connect, describe the server, find matching client tools, and check the backup repository.",
                "Exit 0 all well, 1 repository not writable, 2 database unreachable, 3 a required tool is missing."})
public final class CheckCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Override
    protected CommandResult execute() {
        Services s = services();
        return new CheckService(s.runner(), s.tools()).check(s.target(connection));
    }
}
