package dev.chronodr.wal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Stream;

import dev.chronodr.config.Target;
import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.PgVersion;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.crypto.Recipients;

/**
 * wal-receive: the version-matched pg_receivewal streams WAL through a replication slot
 * into a private spool; every completed segment there is stored in the repository exactly
 * as wal-push stores it, then removed from the spool; the segment being received is stored
 * as NAME.partial whenever it changed, looked at every half {@code partialInterval}, so that
 * what pg_receivewal received is in the archive within about {@code partialInterval}. pg_receivewal runs
 * with --no-loop, so each disconnection comes back here: a dropped slot or WAL the server
 * has already removed ends the run (that is a gap, which only a new base backup closes);
 * anything else (a server restart) is retried with backoff. The slot is created when
 * missing at start only: created again after a drop, it would hide the gap.
 */
public final class WalReceiver {
    /** Lower-cased pg_receivewal messages that retrying cannot fix, and what they mean. */
    private static final List<String[]> FATAL = List.of(
            new String[] {"does not exist", "replication slot"},
            new String[] {"has already been removed", "removed"},
            new String[] {"password authentication failed", "auth"},
            new String[] {"no pg_hba.conf entry", "auth"},
            new String[] {"must be superuser or replication role", "auth"},
            new String[] {"permission denied to start wal sender", "auth"},
            new String[] {"incompatible server version", "version"});


    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final Recipients recipients;

    public WalReceiver(ProcessRunner runner, ToolLocator locator) {
        this(runner, locator, null);
    }

    /** {@code recipients}: the public keys every stored file is encrypted to (null: not encrypted). */
    public WalReceiver(ProcessRunner runner, ToolLocator locator, Recipients recipients) {
        this.runner = runner;
        this.locator = locator;
        this.recipients = recipients;
    }

    /** A stop request (SIGTERM, SIGINT, a test) that wakes the receiver's waits at once. */
    public static final class Stop {
        private final CountDownLatch latch = new CountDownLatch(1);

        public void request() {
            latch.countDown();
        }

        public boolean requested() {
            return latch.getCount() == 0;
        }

        /** Waits up to {@code d}; true when a stop was requested. */
        boolean await(Duration d) {
            try {
                return latch.await(d.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true;
            }
        }
    }

    /** Counters across the run. */
    private static final class Tally {
        long segments;
        long partials;
        int reconnects;
        String last;
        String lastPushError;
        final Map<String, String> partialSeen = new HashMap<>();
    }

    /** Runs until {@code stop} is requested; {@code events} gets one line per thing worth telling (stderr). */
    public WalReceiveResult run(WalReceiveRequest req, Stop stop, Consumer<String> events) {
        long t0 = System.nanoTime();
        Target target = req.target();
        if (target.exec().mode() != ExecMode.LOCAL) {
            throw ChronoException.usage("wal-receive runs pg_receivewal on this machine (--exec local) over a replication connection",
                    "drop --exec " + target.exec().mode().name().toLowerCase(Locale.ROOT) + "; it needs no access to the database's container");
        }
        Repository repo = Repository.open(target.repo());
        Path spool = prepareSpool(req.spool().toAbsolutePath().normalize(), target.repo().localOrNull());
        PgTools tools = new PgTools(target.exec(), target.connection(), runner, locator, serverVersion(target));
        tools.argv(PgTool.PG_RECEIVEWAL, List.of()); // refuses a missing or too old pg_receivewal before anything starts
        Tally tally = new Tally();
        try (FileChannel lockFile = FileChannel.open(spool.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = lockFile.tryLock()) {
            if (lock == null) {
                throw ChronoException.usage("another wal-receive is using the spool " + spool, "stop it first, or give each receiver its own --spool and --slot");
            }
            loop(req, tools, repo, spool, stop, events, tally);
        } catch (IOException e) {
            throw ChronoException.failed("cannot lock the spool " + spool + ": " + e.getMessage(), null);
        }
        return new WalReceiveResult(req.slot(), spool.toString(), repo.location(), tally.segments, tally.partials, tally.reconnects,
                tally.last, (System.nanoTime() - t0) / 1_000_000);
    }

    private void loop(WalReceiveRequest req, PgTools tools, Repository repo, Path spool, Stop stop, Consumer<String> events, Tally tally) {
        boolean slotReady = false;
        Duration backoff = Duration.ofSeconds(1);
        sweep(repo, spool, tally, events); // what a previous run left in the spool goes first
        while (!stop.requested()) {
            long started = System.nanoTime();
            ProcessResult ended;
            if (!slotReady) {
                ended = execute(tools.spec(PgTool.PG_RECEIVEWAL, createSlotArgs(req, tools)).withEnv(appName(req))
                        .withTimeout(Duration.ofMinutes(1)));
                slotReady = ended.succeeded();
                if (slotReady) {
                    events.accept("wal-receive: replication slot " + req.slot() + " ready; streaming into " + spool);
                    continue;
                }
            } else {
                ended = stream(req, tools, spool, repo, stop, events, tally);
                if (ended == null) {
                    break; // stopped
                }
            }
            sweep(repo, spool, tally, events);
            String why = lastLine(ended.stderrTail());
            failIfFatal(req, ended.stderrTail(), why);
            if (System.nanoTime() - started > Duration.ofMinutes(1).toNanos()) {
                backoff = Duration.ofSeconds(1);
            }
            tally.reconnects++;
            events.accept("wal-receive: pg_receivewal exited (" + (why.isEmpty() ? "exit " + ended.exitCode() : why) + "); reconnecting in "
                    + backoff.toSeconds() + " s");
            if (stop.await(backoff)) {
                break;
            }
            backoff = backoff.multipliedBy(2).compareTo(req.maxBackoff()) > 0 ? req.maxBackoff() : backoff.multipliedBy(2);
        }
        sweep(repo, spool, tally, events);
    }

    /** One pg_receivewal run; null when it was stopped on request. */
    private ProcessResult stream(WalReceiveRequest req, PgTools tools, Path spool, Repository repo, Stop stop, Consumer<String> events, Tally tally) {
        List<String> args = new ArrayList<>(tools.connectionArgs());
        args.addAll(List.of("-w", "--no-loop", "-D", spool.toString(), "--slot", req.slot()));
        if (req.synchronous()) {
            args.add("--synchronous");
        }
        ProcessSpec spec = tools.spec(PgTool.PG_RECEIVEWAL, args).withEnv(appName(req)).withTimeout(Duration.ofDays(3650))
                .withStderrLines(l -> events.accept(l));
        AtomicReference<ProcessResult> result = new AtomicReference<>();
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        Thread child = new Thread(() -> {
            try {
                result.set(runner.execute(spec));
            } catch (RuntimeException e) {
                failure.set(e);
            }
        }, "pg_receivewal");
        child.setDaemon(true);
        child.start();
        try {
            // Sweeps start every half interval (back to back when one takes longer), so WAL received just after
            // a sweep read the spool is stored within about one interval; waiting a whole interval after each
            // sweep left it out for the interval plus two sweeps (bench/wal-stream.sh, docs/pitr.md).
            Duration half = req.partialInterval().dividedBy(2);
            long sweepStarted = System.nanoTime();
            while (child.isAlive()) {
                Duration wait = half.minusNanos(System.nanoTime() - sweepStarted);
                if (stop.await(wait.isNegative() ? Duration.ZERO : wait)) {
                    return null; // the finally kills pg_receivewal; what it wrote is in the spool, swept next
                }
                sweepStarted = System.nanoTime();
                sweep(repo, spool, tally, events);
            }
        } finally {
            if (child.isAlive()) {
                child.interrupt(); // the runner kills pg_receivewal: never left running behind a failed sweep
                join(child);
            }
        }
        join(child);
        if (failure.get() != null) {
            throw ChronoException.failed("pg_receivewal did not run: " + failure.get().getMessage(), null, failure.get());
        }
        return result.get();
    }

    private ProcessResult execute(ProcessSpec spec) {
        try {
            return runner.execute(spec);
        } catch (RuntimeException e) {
            throw ChronoException.failed("pg_receivewal did not run: " + e.getMessage(), null, e);
        }
    }

    private static List<String> createSlotArgs(WalReceiveRequest req, PgTools tools) {
        List<String> args = new ArrayList<>(tools.connectionArgs());
        args.addAll(List.of("-w", "--create-slot", "--if-not-exists", "--slot", req.slot()));
        return args;
    }

    /** The name the server shows in pg_stat_replication, and the one synchronous_standby_names must list. */
    private static Map<String, String> appName(WalReceiveRequest req) {
        return Map.of("PGAPPNAME", req.applicationName());
    }

    /** Ends the run on what no retry can fix: a slot or the WAL it held gone (a gap), or credentials the server refuses. */
    private static void failIfFatal(WalReceiveRequest req, String stderr, String why) {
        String low = stderr.toLowerCase(Locale.ROOT);
        for (String[] f : FATAL) {
            if (!low.contains(f[0])) {
                continue;
            }
            switch (f[1]) {
                case "replication slot" -> {
                    if (low.contains("replication slot \"" + req.slot() + "\" does not exist")) {
                        throw ChronoException.failed("replication slot " + req.slot() + " no longer exists (dropped?): WAL written since "
                                + "the last archived segment may be lost", "check with 'chrono-dr list' for a gap, take a new base backup, "
                                + "then start wal-receive again (it creates the slot)");
                    }
                    throw ChronoException.failed("pg_receivewal: " + why, null);
                }
                case "removed" -> throw ChronoException.failed("the server has already removed WAL that wal-receive needs: " + why,
                        "that WAL is lost to the archive (a gap); take a new base backup, then restart wal-receive");
                case "version" -> throw ChronoException.unknown("pg_receivewal: " + why, "install the client tools of the server's version");
                default -> throw new ChronoException(ExitCode.FAILED, "the server refused the replication connection: " + why,
                        "the role needs the REPLICATION attribute and a pg_hba.conf line for the 'replication' database "
                                + "(chrono-dr pitr setup --streaming prints one); the password comes from PGPASSWORD or a pgpass file");
            }
        }
    }

    /**
     * Stores what the spool holds: completed segments (and timeline history files) in name
     * order, each then removed from the spool and its NAME.partial from the archive; then
     * the segment being received, as NAME.partial, when it changed since it was last stored.
     * A failed store (repository full or unreachable) leaves the file in the spool for the
     * next sweep: the spool is the buffer, and pg_receivewal goes on receiving.
     */
    private void sweep(Repository repo, Path spool, Tally tally, Consumer<String> events) {
        List<Path> files;
        try (Stream<Path> ls = Files.list(spool)) {
            files = ls.filter(p -> WalArchive.validName(p.getFileName().toString())).sorted(Comparator.comparing(Path::getFileName)).toList();
        } catch (IOException e) {
            reportOnce(tally, events, "cannot read the spool " + spool + ": " + e.getMessage());
            return;
        }
        WalArchive archive = new WalArchive(repo);
        try {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (name.endsWith(WalService.PARTIAL)) {
                    continue;
                }
                WalService.push(repo, f, recipients);
                if (archive.contains(name + WalService.PARTIAL)) {
                    archive.delete(entry(name + WalService.PARTIAL));
                }
                Files.delete(f);
                tally.partialSeen.remove(name + WalService.PARTIAL);
                if (WalArchive.isSegmentName(name)) {
                    tally.segments++;
                    tally.last = name;
                }
            }
            Path partial = files.stream().filter(p -> p.getFileName().toString().endsWith(WalService.PARTIAL)).reduce((a, b) -> b).orElse(null);
            if (partial != null) {
                storePartial(archive, partial, tally);
            }
            tally.lastPushError = null;
        } catch (NoSuchFileException e) {
            // pg_receivewal renamed the partial segment while we read it: it is a completed segment for the next sweep
        } catch (ChronoException e) {
            if (e.getMessage() != null && e.getMessage().contains("with different content")) {
                throw e; // another cluster writes this archive: never overwrite, never go on
            }
            reportOnce(tally, events, "wal-receive: cannot store in " + repo.location() + " (kept in the spool, retrying): " + e.getMessage());
        } catch (IOException e) {
            reportOnce(tally, events, "wal-receive: cannot store in " + repo.location() + " (kept in the spool, retrying): " + e.getMessage());
        }
    }

    /**
     * The segment being received, stored over its older NAME.partial in place
     * ({@link WalArchive#replacePartial}): the archive holds a version of it at every moment,
     * so losing this host loses only what came since the last store.
     */
    private void storePartial(WalArchive archive, Path partial, Tally tally) throws IOException {
        String name = partial.getFileName().toString();
        String seen = Files.size(partial) + "@" + Files.getLastModifiedTime(partial).toMillis();
        if (seen.equals(tally.partialSeen.get(name))) {
            return;
        }
        try {
            archive.replacePartial(partial, recipients);
        } catch (ChronoException e) {
            if (!Files.exists(partial)) {
                throw new NoSuchFileException(partial.toString()); // renamed while read: completed, for the next sweep
            }
            throw e;
        }
        tally.partialSeen.put(name, seen);
        tally.partials++;
    }

    private static WalArchive.Entry entry(String name) {
        return new WalArchive.Entry(name, name.substring(0, 8), null, 0, null);
    }

    private static void reportOnce(Tally tally, Consumer<String> events, String message) {
        if (!message.equals(tally.lastPushError)) {
            events.accept(message);
        }
        tally.lastPushError = message;
    }

    /**
     * The spool: private (0700), created when missing, and never inside the repository or
     * around it (the repository's files must come only through the archive's own writes).
     */
    static Path prepareSpool(Path spool, Path repo) {
        if (repo != null && (spool.startsWith(repo) || repo.startsWith(spool))) {
            throw ChronoException.usage("the spool " + spool + " must not be inside the repository " + repo + " or contain it",
                    "give --spool a directory of its own, e.g. under /var/lib/chrono-dr");
        }
        try {
            Files.createDirectories(spool);
            Files.setPosixFilePermissions(spool, AtomicFile.PRIVATE_DIR);
            return spool;
        } catch (IOException e) {
            throw ChronoException.failed("cannot create the spool " + spool + ": " + e.getMessage(), "give --spool a writable directory");
        }
    }

    /** The server's version picks pg_receivewal; when the role may only replicate (no database access), the newest installed. */
    private PgVersion serverVersion(Target target) {
        try (Connection c = Database.connect(target.connection())) {
            return ServerInfo.probe(c).version();
        } catch (Exception e) {
            return locator.candidates(PgTool.PG_RECEIVEWAL).stream().map(ToolLocator.Candidate::version).max(Comparator.naturalOrder())
                    .orElseThrow(() -> ChronoException.unknown("pg_receivewal not found", "install the PostgreSQL client tools (Debian: postgresql-client)"));
        }
    }

    private static String lastLine(String text) {
        String[] lines = text.strip().split("\n");
        return lines.length == 0 ? "" : lines[lines.length - 1].strip();
    }

    private static void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
