package dev.chronodr.cli;

import java.nio.file.Path;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.pgbouncer.ConfigRequest;
import dev.chronodr.pgbouncer.ConfigService;
import dev.chronodr.report.CommandResult;

@Command(name = "pgbouncer", description = "PgBouncer in front of the target: its configuration files.",
        synopsisSubcommandLabel = "config",
        subcommands = {PgBouncerCommand.Config.class})
public final class PgBouncerCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @picocli.CommandLine.Mixin
    HelpOptions help;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing subcommand: config");
    }

    @Command(name = "config", sortOptions = false,
            description = {"Write pgbouncer.ini and userlist.txt for the target, from its pgbouncer: section (the runbook's",
                    "pool settings by default). The user list holds the SCRAM verifiers the server keeps, read from pg_authid",
                    "(a superuser's right), never passwords; or, with --auth-query, an auth_user and the SQL function to create.",
                    "Files are written 0600, atomically, and only over files chrono-dr wrote unless --force.",
                    "Exit 0 written, 1 could not read the verifiers or write the files, 64 bad input or a file not ours."})
    static final class Config extends BaseCommand {
        @Mixin
        ConnectionOptions connection;

        @Option(names = "--out", paramLabel = "DIR", description = "Write the files into DIR (default: the current directory).")
        Path out;

        @Option(names = "--auth-query", description = "Set up auth_user + auth_query instead of listing each user's verifier;"
                + " prints the SECURITY DEFINER function to create (needs no superuser).")
        boolean authQuery;

        @Option(names = "--force", description = "Replace pgbouncer.ini or userlist.txt even when chrono-dr did not write them.")
        boolean force;

        @Override
        protected CommandResult execute() {
            var env = cli().env();
            Path dir = out == null ? env.cwd() : env.resolve(out.toString());
            return new ConfigService().run(new ConfigRequest(services().target(connection), dir, authQuery, force, env));
        }
    }
}
