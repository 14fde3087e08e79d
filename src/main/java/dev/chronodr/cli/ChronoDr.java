package dev.chronodr.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The root command. It only lists the subcommands; each one is a thin adapter over a core service. */
@Command(name = "chrono-dr",
        versionProvider = ChronoDr.Version.class,
        description = "PostgreSQL disaster recovery: backups you can restore, checks you can trust.",
        synopsisSubcommandLabel = "COMMAND",
        footer = {"", "Exit codes: 0 ok, 1 failed or warning, 2 critical, 3 unknown, 64 usage error.",
                "Run 'chrono-dr COMMAND --help' for a command's options."})
public final class ChronoDr implements java.util.concurrent.Callable<Integer> {
    /**
     * The subcommands, in the order help lists them. Added by {@link CommandLineFactory}:
     * a run builds the model of the one command it names, not of all sixteen.
     */
    public static final List<Class<?>> COMMANDS = List.of(
            CheckCommand.class,
            BackupCommand.class,
            RestoreCommand.class,
            RecoverCommand.class,
            ListCommand.class,
            CleanupCommand.class,
            RepoCommand.class,
            VacuumCommand.class,
            DrTestCommand.class,
            WalPushCommand.class,
            WalFetchCommand.class,
            WalReceiveCommand.class,
            WalArchiverCommand.class,
            PitrCommand.class,
            RestorePointCommand.class,
            VerifyCommand.class,
            AuditCommand.class,
            MonitorCommand.class,
            AdviseCommand.class,
            ScheduleCommand.class,
            PgBouncerCommand.class,
            SandboxCommand.class,
            CompletionCommand.class);

    /**
     * Each command's name, so that finding the one a run names reads no annotations (each
     * read costs a proxy class at start-up); ChronoDrTest holds it equal to the annotations.
     */
    static final Map<String, Class<?>> BY_NAME = Map.ofEntries(
            Map.entry("check", CheckCommand.class),
            Map.entry("backup", BackupCommand.class),
            Map.entry("restore", RestoreCommand.class),
            Map.entry("recover", RecoverCommand.class),
            Map.entry("list", ListCommand.class),
            Map.entry("cleanup", CleanupCommand.class),
            Map.entry("repo", RepoCommand.class),
            Map.entry("vacuum", VacuumCommand.class),
            Map.entry("dr-test", DrTestCommand.class),
            Map.entry("wal-push", WalPushCommand.class),
            Map.entry("wal-fetch", WalFetchCommand.class),
            Map.entry("wal-receive", WalReceiveCommand.class),
            Map.entry("wal-archiver", WalArchiverCommand.class),
            Map.entry("pitr", PitrCommand.class),
            Map.entry("restore-point", RestorePointCommand.class),
            Map.entry("verify", VerifyCommand.class),
            Map.entry("audit", AuditCommand.class),
            Map.entry("monitor", MonitorCommand.class),
            Map.entry("advise", AdviseCommand.class),
            Map.entry("schedule", ScheduleCommand.class),
            Map.entry("pgbouncer", PgBouncerCommand.class),
            Map.entry("sandbox", SandboxCommand.class),
            Map.entry("completion", CompletionCommand.class));

    private final Cli cli;

    @Spec
    CommandSpec spec;

    @CommandLine.Mixin
    HelpOptions help;

    public ChronoDr(Cli cli) {
        this.cli = cli;
    }

    public Cli cli() {
        return cli;
    }

    /**
     * A bare "chrono-dr" names no command: a usage error (exit 64) with the short usage on
     * stderr, so that a cron line or script that lost its argument fails instead of passing.
     */
    @Override
    public Integer call() {
        CommandLine.Help help = spec.commandLine().getHelp();
        cli.err().print("chrono-dr: missing command\n"
                + help.synopsisHeading() + help.synopsis(0)
                + help.commandListHeading()
                + help.commandList()
                + "Run 'chrono-dr --help' for more, 'chrono-dr COMMAND --help' for a command's options.\n");
        cli.err().flush();
        return dev.chronodr.core.ExitCode.USAGE.code();
    }

    /** Version from the build. */
    public static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"chrono-dr " + version(), "Java " + System.getProperty("java.version")};
        }
    }

    /** The subcommand class a command-line word names, or null. */
    public static Class<?> command(String word) {
        return BY_NAME.get(word);
    }

    public static String version() {
        try (InputStream in = ChronoDr.class.getResourceAsStream("/dev/chronodr/version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
