package dev.chronodr.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.TargetResolver;
import dev.chronodr.config.ConnectionRequest;
import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Lsn;
import dev.chronodr.restore.PitrRestoreRequest;
import dev.chronodr.restore.PitrRestoreService;
import dev.chronodr.restore.RecoveryTarget;
import dev.chronodr.report.CommandResult;

@Command(name = "restore", sortOptions = false,
        description = {"Restore a base backup into a new data directory, replay archived WAL to the target, promote and start it.",
                "Exit 0 recovered and running, 1 failed (port in use, recovery failed: retry with --force-clean),",
                "3 server programs missing, or encrypted files and no key that opens them (--decrypt-key; the message names the key),",
                "64 bad input, a target outside the window or a directory not empty."})
final class PitrRestoreCommand extends BaseCommand {
    static final class Targets {
        @Option(names = "--point-in-time", paramLabel = "TIMESTAMP",
                description = "'2025-08-27 10:00:00' (local time zone), with an offset: 2025-08-27T10:00:00+02:00, "
                        + "or 'latest': everything archived, wal-receive's partial segment included.")
        String time;

        @Option(names = "--target-lsn", paramLabel = "LSN", description = "A WAL location, e.g. 0/3000060.")
        String lsn;

        @Option(names = "--target-name", paramLabel = "NAME", description = "A restore point made with 'chrono-dr restore-point'.")
        String name;

        @Option(names = "--target-immediate", description = "Stop as soon as the newest base backup is consistent.")
        boolean immediate;

        @Option(names = "--target-latest", description = "Replay everything archived, wal-receive's partial segment included.")
        boolean latest;

        /** Parsed by the core; none set (only --target-immediate) means as soon as consistent. */
        RecoveryTarget target() {
            return latest ? RecoveryTarget.latest() : RecoveryTarget.parse(time, lsn, name);
        }
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Targets targets;

    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "New or empty directory for the recovered cluster.")
    String dataDir;

    @Option(names = "--port", required = true, paramLabel = "PORT", description = "Port for the recovered server (beside the live one); checked free first.")
    int port;

    @Option(names = "--force-clean", description = "Retry after a failed restore: first empty the directories it left (marked by chrono-dr), and only those.")
    boolean forceClean;

    @Option(names = "--tablespace-map", paramLabel = "NAME=DIR",
            description = "Restore tablespace NAME into DIR (new or empty); repeatable. Unmapped ones go back where they were, which must be empty.")
    Map<String, String> tablespaceMap = new LinkedHashMap<>();

    @Option(names = "--repo", paramLabel = "DIR", description = "Backup repository (CHRONO_DR_REPO, config, else ./backups).")
    String repo;

    @Option(names = "--config", paramLabel = "FILE", description = "Config file (for the repository of --target).")
    String config;

    @Option(names = "--target", paramLabel = "NAME", description = "Named target from the config file (for its repository).")
    String target;

    @Option(names = "--command", paramLabel = "CMD",
            description = "How the server runs chrono-dr for restore_command, absolute (default: this checkout's scripts/chrono-dr).")
    String command;

    @Option(names = "--timeout", defaultValue = "600", paramLabel = "SECONDS", description = "Most seconds to wait for recovery (default 600).")
    int timeout;

    @Mixin
    EncryptionOptions.Decrypt decryption;

    @Override
    protected CommandResult execute() {
        dev.chronodr.config.Target t = new TargetResolver(cli().env()).resolve(new ConnectionRequest(null, null, null, null, null, null, config, target,
                null, null, null, null, repo, false));
        PitrRestoreRequest req = request(cli(), targets, dataDir, port, t.repo(), command, timeout, tablespaceMap, forceClean,
                WalKeyFlags.keyFiles(decryption, t, cli().env()));
        return new PitrRestoreService(cli().processRunner(), cli().env()).restore(req);
    }

    /**
     * Shared with {@code restore --point-in-time}: the flags checked in the order they always were
     * (port range, the target as the core parses it, an absolute --command, tablespace directories)
     * and resolved against the working directory.
     */
    static PitrRestoreRequest request(Cli cli, Targets targets, String dataDir, int port, dev.chronodr.repo.RepoLocation repo, String command, int timeout,
                                      Map<String, String> tablespaceMap, boolean forceClean, dev.chronodr.crypto.KeyFiles keys) {
        if (port < 1 || port > 65535) {
            throw ChronoException.usage("--port " + port + " is out of range", null);
        }
        RecoveryTarget target = targets.target();
        var launcher = Launcher.parse(command);
        if (!launcher.get(0).startsWith("/")) {
            throw ChronoException.usage("--command must start with an absolute path", "the server runs restore_command without your PATH");
        }
        Map<String, Path> spaces = new LinkedHashMap<>();
        tablespaceMap.forEach((name, dir) -> {
            if (dir.isBlank()) {
                throw ChronoException.usage("--tablespace-map " + name + "= names no directory", "write it as NAME=/absolute/dir");
            }
            spaces.put(name, cli.env().resolve(dir));
        });
        return new PitrRestoreRequest(repo, target, cli.env().resolve(dataDir), port, launcher, null, Duration.ofSeconds(timeout), spaces,
                forceClean, keys);
    }
}
