package dev.chronodr.cli;

import java.util.List;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.wal.PitrSetupRequest;
import dev.chronodr.wal.PitrSetupService;
import dev.chronodr.report.CommandResult;

@Command(name = "pitr", description = "Point-in-time recovery: WAL archiving setup and restore to a moment.",
        synopsisSubcommandLabel = "(setup | restore)",
        subcommands = {PitrCommand.Setup.class, PitrRestoreCommand.class})
public final class PitrCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    HelpOptions help;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing subcommand: setup or restore");
    }

    @Command(name = "setup", sortOptions = false,
            description = {"Show (or with --apply, set through ALTER SYSTEM) the settings for continuous WAL archiving:",
                    "wal_level, archive_mode, archive_command (chrono-dr wal-push) and archive_timeout sized from the RPO.",
                    "Says which changes need a server restart. Run as root for a server on this host, --apply also gives",
                    "REPO/wal to the server's OS user, or refuses when it cannot. Exit 0 done, 1 failed (the server's",
                    "OS user cannot be given the archive; nothing changed), 2 cannot connect, 64 bad input.",
                    "With --streaming: the settings wal-receive needs instead (see docs/pitr.md, Continuous WAL)."})
    static final class Setup extends BaseCommand {
        @Mixin
        ConnectionOptions connection;

        @Mixin
        EncryptionOptions.Encrypt encryption;

        @Option(names = "--rpo", defaultValue = "15", paramLabel = "MINUTES",
                description = "Most minutes of writes you accept to lose (default 15); archive_timeout is half of it, at least 60 s.")
        int rpo;

        @Option(names = "--command", paramLabel = "CMD",
                description = "How the server runs chrono-dr, absolute (default: this checkout's scripts/chrono-dr, else java -jar THIS_JAR).")
        String command;

        @Option(names = "--apply", description = "Apply with ALTER SYSTEM and pg_reload_conf() (needs a superuser).")
        boolean apply;

        @Option(names = "--streaming", description = "Instead: what wal-receive needs (wal_level, max_wal_senders, max_replication_slots, "
                + "max_slot_wal_keep_size; the replication role's pg_hba.conf line is printed, not written).")
        boolean streaming;

        @Option(names = "--max-slot-wal-keep", defaultValue = "4096", paramLabel = "MB",
                description = "With --streaming: max_slot_wal_keep_size to set when it is unlimited (default 4096 MB).")
        long slotKeepMb;

        @Option(names = "--synchronous-standby", paramLabel = "NAME",
                description = "With --streaming: set synchronous_standby_names to wal-receive's application name (commits wait for it).")
        String synchronousStandby;

        @Override
        protected CommandResult execute() {
            Target target = services().target(connection);
            var launcher = Launcher.parse(command);
            if (!launcher.get(0).startsWith("/")) {
                throw ChronoException.usage("--command must start with an absolute path, got '" + launcher.get(0) + "'",
                        "the server runs archive_command without your PATH");
            }
            if (!streaming && synchronousStandby != null) {
                throw ChronoException.usage("--synchronous-standby goes with --streaming", null);
            }
            return new PitrSetupService(services().runner()).setup(target.connection(),
                    new PitrSetupRequest(target.repo(), rpo, launcher, apply, streaming, slotKeepMb, synchronousStandby,
                            streaming ? List.of() : encryption.keyFiles(target, cli().env())));
        }
    }
}
