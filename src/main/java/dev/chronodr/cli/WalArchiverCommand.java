package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.repo.Repository;
import dev.chronodr.report.CommandResult;
import dev.chronodr.wal.ArchiverDaemon;
import dev.chronodr.wal.ArchiverEndpoint;

@Command(name = "wal-archiver", sortOptions = false, resourceBundle = "dev.chronodr.cli.WalRepo",
        description = {"Resident WAL archiver that wal-push (archive_command) hands segments to.",
                "wal-push sends each segment through a Unix socket (REPO/wal/.archiver.sock) and returns once it is stored,",
                "as wal-push would store it. Segments wal-push is told to encrypt (--encrypt-to) are stored by wal-push itself.",
                "From the first segment handed over it also stores the server's ready segments ahead, while the server asks,",
                "and acknowledges each in DATADIR/.chrono-dr-archived: the archive_command pitr setup writes answers those",
                "in /bin/sh, with no JVM start.",
                "Runs in the foreground as the server's OS user until SIGTERM or SIGINT (segments being stored are finished",
                "and answered first). One per repository. wal-push stores the segment itself when none runs.",
                "Exit 0 stopped on request, 1 the socket cannot be made, 64 another wal-archiver serves the repository,",
                "it runs as another user than REPO/wal's owner, or bad input."})
public final class WalArchiverCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--socket", paramLabel = "PATH",
            description = "Listen here instead (required for s3:// repositories; give wal-push the same --socket).")
    String socket;

    @Override
    protected CommandResult execute() {
        Repository r = repo.walRepository(cli().env());
        ArchiverEndpoint ep = ArchiverEndpoint.of(r, socket == null ? null : cli().env().resolve(socket));
        ArchiverDaemon.Stop stop = new ArchiverDaemon.Stop();
        try (WalReceiveCommand.StopOnSignal signals = WalReceiveCommand.StopOnSignal.install(stop::request)) {
            return new ArchiverDaemon(r, ep, line -> {
                cli().err().println(line);
                cli().err().flush();
            }).run(stop);
        }
    }
}
