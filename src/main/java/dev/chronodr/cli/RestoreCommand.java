package dev.chronodr.cli;

import java.util.LinkedHashMap;
import java.util.Map;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.Target;
import dev.chronodr.config.TargetResolver;
import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.restore.PitrRestoreRequest;
import dev.chronodr.restore.PitrRestoreService;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TerminalProgress;
import dev.chronodr.restore.RestorePlan;
import dev.chronodr.restore.RestoreRequest;
import dev.chronodr.restore.RestoreService;

@Command(name = "restore", sortOptions = false,
        description = {"Restore a backup: beside the live database (--target-db), or replace it through a verified staging copy and an atomic rename.",
                "Exit 0 done, 1 failed (backup corrupt, restore or verification failed; the live database is left as it was),",
                "3 client tools missing, or an encrypted backup and no key that opens it (--decrypt-key), 64 bad input or missing confirmation."})
public final class RestoreCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @ArgGroup(exclusive = true, multiplicity = "0..1", heading = "Logical backup to restore (one of):%n")
    Source source;

    @ArgGroup(exclusive = true, multiplicity = "0..1",
            heading = "Or point-in-time recovery from a base backup and the WAL archive (with --data-dir and -p, see docs/pitr.md):%n")
    PitrRestoreCommand.Targets pointInTime;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Point-in-time: new or empty data directory for the recovered cluster; -p/--port is its port.")
    String dataDir;

    @Option(names = "--command", paramLabel = "CMD", description = "Point-in-time: absolute chrono-dr command for restore_command (default: this checkout's scripts/chrono-dr).")
    String command;

    @Option(names = "--timeout", defaultValue = "600", paramLabel = "SECONDS", description = "Point-in-time: most seconds to wait for recovery (default 600).")
    int timeout;

    @Option(names = "--tablespace-map", paramLabel = "NAME=DIR", description = "Point-in-time: restore tablespace NAME into DIR (new or empty); repeatable.")
    Map<String, String> tablespaceMap = new LinkedHashMap<>();

    @Option(names = "--force-clean", description = "Point-in-time: first empty the directories a failed restore left (marked by chrono-dr), and only those.")
    boolean forceClean;

    static final class Source {
        @Option(names = "--latest", required = true,
                description = "The newest full backup of the database that passes a checksum check now; damaged newer ones are named and passed over.")
        boolean latest; // only picocli reads it: a request with neither an id nor a file means the newest backup

        @Option(names = "--backup-id", required = true, paramLabel = "ID", description = "A backup id as 'chrono-dr list' shows it.")
        String backupId;

        @Option(names = "--backup-file", required = true, paramLabel = "PATH",
                description = "A chrono-dr backup directory or its dump, a pg_dump custom or directory archive, or a plain .sql/.sql.gz file.")
        String backupFile;
    }

    @Option(names = "--target-db", paramLabel = "NAME", description = "Restore into this new database beside the live one; nothing else is touched.")
    String targetDb;

    @Option(names = "--in-place", description = "Not enough disk for two copies: safety backup, DROP the live database, recreate, restore.")
    boolean inPlace;

    @Option(names = {"-j", "--jobs"}, defaultValue = "1", paramLabel = "N", description = "Parallel pg_restore jobs (custom and directory archives).")
    int jobs;

    @Option(names = "--no-verify", description = "Skip the row-count and foreign-key verification.")
    boolean noVerify;

    @Option(names = "--with-globals", description = "First restore the backup's roles and tablespaces (a new server); existing ones are left as they are and reported.")
    boolean withGlobals;

    @Option(names = "--allow-empty", description = "Let a backup without tables replace a database that has some (refused otherwise).")
    boolean allowEmpty;

    @Option(names = "--yes", description = "Confirm replacing the live database without a prompt; also go on (with a warning) where free space cannot be checked.")
    boolean yes;

    @Mixin
    EncryptionOptions.Decrypt decryption;

    @Override
    protected CommandResult execute() {
        if (jobs < 1) {
            throw ChronoException.usage("--jobs must be at least 1", null);
        }
        if (inPlace && targetDb != null) {
            throw ChronoException.usage("--in-place and --target-db exclude each other", "--target-db never touches the live database");
        }
        return pointInTime != null ? recoverToPointInTime() : restoreLogical();
    }

    /** --point-in-time and friends: a base backup into --data-dir, replayed to the target (the core parses it). */
    private CommandResult recoverToPointInTime() {
        if (source != null || targetDb != null || inPlace) {
            throw ChronoException.usage("a point-in-time target does not combine with --latest, --backup-id, --backup-file, --target-db or --in-place",
                    "point-in-time recovery restores a base backup into --data-dir; see docs/pitr.md");
        }
        if (dataDir == null || connection.port == null) {
            throw ChronoException.usage("point-in-time recovery needs --data-dir DIR and -p/--port PORT for the recovered server",
                    "e.g. --data-dir /var/lib/postgresql/recovered -p 5433");
        }
        Target t = new TargetResolver(cli().env()).resolve(connection.request());
        PitrRestoreRequest req = PitrRestoreCommand.request(cli(), pointInTime, dataDir, connection.port, t.repo(), command, timeout,
                tablespaceMap, forceClean, WalKeyFlags.keyFiles(decryption, t, cli().env()));
        return new PitrRestoreService(cli().processRunner(), cli().env()).restore(req);
    }

    /** A logical backup: planned, confirmed from the plan when it replaces or drops the live database, carried out. */
    private CommandResult restoreLogical() {
        if (dataDir != null || command != null || !tablespaceMap.isEmpty() || forceClean) {
            throw ChronoException.usage("--data-dir, --command, --tablespace-map and --force-clean apply to point-in-time recovery only",
                    "add --point-in-time, --target-lsn, --target-name or --target-immediate, or drop them to restore a logical backup");
        }
        if (source == null) {
            throw ChronoException.usage("what to restore? none of --latest, --backup-id, --backup-file or a point-in-time target was given",
                    "e.g. chrono-dr restore --latest --target-db " + "restored_copy");
        }
        String file = source.backupFile == null ? null : cli().env().cwd().resolve(source.backupFile).toString();
        RestoreRequest req = new RestoreRequest(source.backupId, file, targetDb, jobs, !noVerify, inPlace, withGlobals, yes,
                allowEmpty);
        Target target = new TargetResolver(cli().env()).resolve(connection.request());
        ProcessRunner runner = cli().processRunner();
        RestoreService service = new RestoreService(runner, new ToolLocator(runner, cli().env().vars()),
                TerminalProgress.forTerminal(cli().terminal(), cli().err(), output.quiet), ChronoDr.version(),
                decryption.secretKeys(target, cli().env()));
        RestorePlan plan = service.plan(target, req);
        if (plan.needsConfirmation()) {
            Confirmation.require(cli(), yes, plan.confirmationAction());
        }
        return service.execute(target, plan);
    }
}
