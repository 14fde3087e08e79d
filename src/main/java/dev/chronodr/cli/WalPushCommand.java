package dev.chronodr.cli;

import java.nio.file.Path;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import dev.chronodr.repo.Repository;
import dev.chronodr.report.CommandResult;
import dev.chronodr.wal.ArchiverClient;
import dev.chronodr.wal.ArchiverEndpoint;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.wal.WalService;

@Command(name = "wal-push", sortOptions = false, resourceBundle = "dev.chronodr.cli.WalRepo",
        description = {"Archive one WAL file into REPO/wal (zstd, SHA-256, atomic); the server's archive_command runs it.",
                "In postgresql.conf:",
                "  archive_command = '/path/to/chrono-dr wal-push --repo /path/to/repo %%p'",
                "With --encrypt-to, stored as NAME.zst.gpg, an OpenPGP message that gpg --decrypt reads (public keys only here).",
                "When a wal-archiver serves the repository, the segment is handed to it and this returns once it is stored;",
                "with none (or one that dies mid-segment), or with --encrypt-to (the daemon does not encrypt), wal-push stores it itself.",
                "Exit 0 archived (or already archived with the same content), 1 failed or a different file with that name exists,",
                "64 bad input (a key file missing or not a public key)."})
public final class WalPushCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Mixin
    EncryptionOptions.Encrypt encryption;

    @Option(names = "--socket", paramLabel = "PATH",
            description = "wal-archiver's socket, when it was given one (CHRONO_DR_ARCHIVER_SOCKET; default REPO/wal/.archiver.sock).")
    String socket;

    @Parameters(index = "0", paramLabel = "PATH", description = "The WAL file (%%p), relative to the working directory.")
    String path;

    @Override
    protected CommandResult execute() {
        Repository r = repo.walRepository(cli().env());
        Path file = cli().env().resolve(path);
        Recipients recipients = WalKeyFlags.recipients(encryption, cli().env());
        if (recipients != null) {
            // wal-archiver stores what it is handed as it is: an encrypted segment is stored here, never handed to it
            return WalService.push(r, file, recipients);
        }
        String sock = socket != null ? socket : cli().env().get("CHRONO_DR_ARCHIVER_SOCKET");
        if (sock != null || !r.remote()) {
            ArchiverClient.Handoff h = ArchiverClient.push(ArchiverEndpoint.of(r, sock == null ? null : cli().env().resolve(sock)), file);
            if (h.result().isPresent()) {
                return h.result().get();
            }
            if (h.fallbackReason() != null) {
                cli().err().println("chrono-dr: " + h.fallbackReason() + "; storing it here");
                cli().err().flush();
            }
        }
        return WalService.push(r, file);
    }
}
