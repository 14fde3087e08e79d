package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import dev.chronodr.check.CheckService;
import dev.chronodr.config.Target;
import dev.chronodr.config.TargetResolver;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.report.CommandResult;

@Command(name = "check", sortOptions = false,
        description = {"Connect, describe the server, find matching client tools, and check the backup repository.",
                "Exit 0 all well, 1 repository not writable, 2 database unreachable, 3 a required tool is missing."})
public final class CheckCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Override
    protected CommandResult execute() {
        Target target = new TargetResolver(cli().env()).resolve(connection.request());
        ProcessRunner runner = cli().processRunner();
        return new CheckService(runner, new ToolLocator(runner, cli().env().vars())).check(target);
    }
}
