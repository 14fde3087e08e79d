package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import dev.chronodr.wal.WalService;
import dev.chronodr.report.CommandResult;

@Command(name = "wal-fetch", sortOptions = false, resourceBundle = "dev.chronodr.cli.WalRepo",
        description = {"Restore one archived WAL file, checking its SHA-256; the server's restore_command runs it.",
                "In the recovery settings:",
                "  restore_command = '/path/to/chrono-dr wal-fetch --repo /path/to/repo %%f %%p'",
                "Exit 0 restored, 1 not in the archive (normal at the end of recovery), 2 the archived copy is corrupt."})
public final class WalFetchCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--until", paramLabel = "SEGMENT",
            description = "Hand out no segment after this one (set by pitr restore: recovery replays only the WAL it checked).")
    String until;

    @Parameters(index = "0", paramLabel = "NAME", description = "The WAL file name (%%f).")
    String name;

    @Parameters(index = "1", paramLabel = "DEST", description = "Where to write it (%%p), relative to the working directory.")
    String dest;

    @Override
    protected CommandResult execute() {
        return WalService.fetch(repo.walRepository(cli().env()), name, cli().env().resolve(dest), until);
    }
}
