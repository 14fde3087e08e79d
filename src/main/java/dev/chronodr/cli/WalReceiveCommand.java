package dev.chronodr.cli;

import java.nio.file.Path;
import java.time.Duration;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.Target;
import dev.chronodr.report.CommandResult;
import dev.chronodr.wal.WalReceiveRequest;
import dev.chronodr.wal.WalReceiver;

@Command(name = "wal-receive", sortOptions = false,
        description = {"Stream WAL continuously (pg_receivewal over a replication slot) into the repository's WAL archive.",
                "Runs in the foreground until SIGTERM or SIGINT; completed segments are archived as wal-push stores them,",
                "the segment being received as NAME.partial every --partial-interval seconds. Reconnects when the server restarts.",
                "With --encrypt-to (or the config's encryption.recipients) each file is stored encrypted, as NAME.zst.gpg.",
                "Exit 0 stopped on request, 1 the slot was dropped, WAL it needed is gone or the server refuses the connection,",
                "3 pg_receivewal missing, 64 bad input."})
public final class WalReceiveCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--slot", paramLabel = "NAME", description = "Replication slot, created when missing (default chrono_dr).")
    String slot = WalReceiveRequest.DEFAULT_SLOT;

    @Option(names = "--spool", paramLabel = "DIR",
            description = "Private local directory pg_receivewal writes into, not in the repository "
                    + "(default $XDG_STATE_HOME or ~/.local/state, then chrono-dr/wal-receive/SLOT).")
    String spool;

    @Option(names = "--partial-interval", paramLabel = "SECONDS", defaultValue = "1",
            description = "How often the segment being received is stored when it grew (default 1).")
    int partialInterval;

    @Option(names = "--synchronous", description = "Flush and confirm each write at once, so the server can wait for it "
            + "(list --application-name in synchronous_standby_names).")
    boolean synchronous;

    @Option(names = "--application-name", paramLabel = "NAME", description = "application_name the server sees (default: the slot name).")
    String applicationName;

    @Mixin
    EncryptionOptions.Encrypt encryption;

    @Override
    protected CommandResult execute() {
        Target target = services().target(connection);
        WalReceiveRequest req = new WalReceiveRequest(target, spoolDir(), slot, applicationName, Duration.ofSeconds(partialInterval),
                synchronous, Duration.ofSeconds(30));
        WalReceiver.Stop stop = new WalReceiver.Stop();
        try (StopOnSignal signals = StopOnSignal.install(stop::request)) {
            // wal-receive reads the config (its connection comes from there): encryption.recipients applies, as for backup
            return new WalReceiver(services().runner(), services().tools(), encryption.recipients(target, cli().env())).run(req, stop, line -> {
                cli().err().println(line);
                cli().err().flush();
            });
        }
    }

    private Path spoolDir() {
        if (spool != null) {
            return cli().env().resolve(spool);
        }
        String xdg = cli().env().get("XDG_STATE_HOME");
        Path state = xdg != null ? Path.of(xdg) : cli().env().home().resolve(".local/state");
        return state.resolve("chrono-dr").resolve("wal-receive").resolve(slot == null ? "" : slot);
    }

    /**
     * SIGTERM and SIGINT ask the receiver to stop (it stores what it has and returns, exit
     * 0) instead of starting the JVM's shutdown, which would exit 143 mid-store.
     */
    @SuppressWarnings("restriction")
    static final class StopOnSignal implements AutoCloseable {
        private final sun.misc.SignalHandler oldTerm;
        private final sun.misc.SignalHandler oldInt;

        private StopOnSignal(Runnable onSignal) {
            sun.misc.SignalHandler h = sig -> onSignal.run();
            oldTerm = sun.misc.Signal.handle(new sun.misc.Signal("TERM"), h);
            oldInt = sun.misc.Signal.handle(new sun.misc.Signal("INT"), h);
        }

        static StopOnSignal install(Runnable onSignal) {
            return new StopOnSignal(onSignal);
        }

        @Override
        public void close() {
            sun.misc.Signal.handle(new sun.misc.Signal("TERM"), oldTerm);
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), oldInt);
        }
    }
}
