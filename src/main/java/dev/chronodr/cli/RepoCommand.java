package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import dev.chronodr.catalog.CopyResult;
import dev.chronodr.config.Target;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.RepositoryCopy;
import dev.chronodr.report.CommandResult;

@Command(name = "repo", description = "Work on whole repositories: copy backups from one to another (3-2-1).",
        synopsisSubcommandLabel = "copy",
        subcommands = {RepoCommand.Copy.class})
public final class RepoCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @picocli.CommandLine.Mixin
    HelpOptions help;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing subcommand: copy");
    }

    @Command(name = "copy", sortOptions = false,
            description = {"Copy committed backups from one repository to another: every file streamed, its SHA-256 checked against the",
                    "manifest at the destination, the manifest written there last (the commit). A backup already there is skipped; a",
                    "different one with the same id is never overwritten. Stored bytes are copied as they are (encrypted stays encrypted).",
                    "A base backup takes the archived WAL it needs along; --missing also copies every WAL file the destination lacks.",
                    "Exit 0 done, 1 a copy failed or the id is taken by another backup there, 2 a source file is damaged, 64 bad input."})
    static final class Copy extends BaseCommand {
        @Option(names = "--from", required = true, paramLabel = "REPO",
                description = "Source: a directory, s3://BUCKET/PREFIX, or a name from the target's repos: in the config.")
        String from;

        @Option(names = "--to", required = true, paramLabel = "REPO",
                description = "Destination: a directory, s3://BUCKET/PREFIX, or a name from the target's repos:.")
        String to;

        @Option(names = "--backup-id", paramLabel = "ID", description = "Copy this backup.")
        String backupId;

        @Option(names = "--missing", description = "Copy every good backup and every WAL file the destination does not hold yet.")
        boolean missing;

        @Option(names = "--config", paramLabel = "FILE", description = "Config file (CHRONO_DR_CONFIG, else ./config/chrono-dr.yaml).")
        String configFile;

        @Option(names = "--target", paramLabel = "NAME", description = "Named target whose repos: and s3: apply (CHRONO_DR_TARGET).")
        String target;

        @Override
        protected CommandResult execute() {
            RepositoryCopy.Selection selection = new RepositoryCopy.Selection(backupId, missing);
            Target t = services().describe(configFile, target);
            Repository a = Repository.open(services().repoLocation(t, from));
            Repository b = Repository.open(services().repoLocation(t, to));
            return CopyResult.of(RepositoryCopy.run(a, b, selection));
        }
    }
}
