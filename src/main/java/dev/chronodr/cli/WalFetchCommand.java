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
                "An encrypted segment (NAME.zst.gpg) needs --decrypt-key (and --passphrase-file); plain ones are read without it.",
                "Exit 0 restored, 1 not in the archive (normal at the end of recovery), 2 the archived copy is corrupt,",
                "3 encrypted to a key not given (the message names its fingerprint) or a passphrase that does not unlock it, 64 bad input."})
public final class WalFetchCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--until", paramLabel = "SEGMENT",
            description = "Hand out no segment after this one (set by pitr restore: recovery replays only the WAL it checked).")
    String until;

    @Mixin
    EncryptionOptions.Decrypt decryption;

    @Parameters(index = "0", paramLabel = "NAME", description = "The WAL file name (%%f).")
    String name;

    @Parameters(index = "1", paramLabel = "DEST", description = "Where to write it (%%p), relative to the working directory.")
    String dest;

    @Override
    protected CommandResult execute() {
        return WalService.fetch(repo.walRepository(cli().env()), name, cli().env().resolve(dest), until,
                WalKeyFlags.secretKeys(decryption, cli().env()));
    }
}
