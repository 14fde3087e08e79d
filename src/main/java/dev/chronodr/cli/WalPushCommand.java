package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import dev.chronodr.wal.WalService;
import dev.chronodr.report.CommandResult;

@Command(name = "wal-push", sortOptions = false, resourceBundle = "dev.chronodr.cli.WalRepo",
        description = {"Archive one WAL file into REPO/wal (zstd, SHA-256, atomic); the server's archive_command runs it.",
                "In postgresql.conf:",
                "  archive_command = '/path/to/chrono-dr wal-push --repo /path/to/repo %%p'",
                "With --encrypt-to, stored as NAME.zst.gpg, an OpenPGP message that gpg --decrypt reads (public keys only here).",
                "Exit 0 archived (or already archived with the same content), 1 failed or a different file with that name exists,",
                "64 bad input (a key file missing or not a public key)."})
public final class WalPushCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Mixin
    EncryptionOptions.Encrypt encryption;

    @Parameters(index = "0", paramLabel = "PATH", description = "The WAL file (%%p), relative to the working directory.")
    String path;

    @Override
    protected CommandResult execute() {
        return WalService.push(repo.walRepository(cli().env()), cli().env().resolve(path),
                WalKeyFlags.recipients(encryption, cli().env()));
    }
}
