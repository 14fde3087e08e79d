package dev.chronodr.wal;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;

/**
 * The resident half of wal-push: {@code wal-archiver} listens on its repository's Unix socket
 * ({@link ArchiverEndpoint}) and stores each segment a wal-push names exactly as wal-push stores
 * it ({@link WalService#push}: zstd, SHA-256, fsynced and renamed), then says so. The JVM, the
 * compressor and the digest stay warm, so archive_command pays only for a small client.
 * <p>
 * A segment is acknowledged ({@code OK}) only after WalService.push returned, that is when it is
 * durable; anything else (an error, the daemon dying, a silence longer than the client waits)
 * leaves wal-push to report the error or store the segment itself. One daemon per repository: a
 * lock held for the daemon's life (released by the kernel when it dies, so a dead daemon's socket
 * is simply replaced by the next one).
 */
public final class ArchiverDaemon {
    /** How often a client waiting for a long store hears that the daemon is still at it. */
    static final Duration HEARTBEAT = Duration.ofSeconds(5);
    /** A client that connects and says nothing for this long is dropped. */
    static final Duration REQUEST_DEADLINE = Duration.ofSeconds(30);
    private static final int MAX_REQUEST = 8192;

    /** Stops the daemon from a signal handler: no new connection is taken, requests in flight finish. */
    public static final class Stop {
        private volatile boolean requested;
        private volatile ServerSocketChannel server;

        public void request() {
            requested = true;
            closeQuietly(server);
        }

        boolean requested() {
            return requested;
        }

        void attach(ServerSocketChannel s) {
            server = s;
            if (requested) {
                closeQuietly(s);
            }
        }
    }

    private final Repository repo;
    private final ArchiverEndpoint endpoint;
    private final Consumer<String> log;
    private final AtomicLong stored = new AtomicLong();
    private final AtomicLong already = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    /** The servers whose ready segments are stored ahead, learnt from the paths wal-push hands over. */
    private final java.util.Map<Path, java.util.Optional<ArchiveAhead>> ahead = new java.util.concurrent.ConcurrentHashMap<>();
    private final int aheadJobs = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    public ArchiverDaemon(Repository repo, ArchiverEndpoint endpoint, Consumer<String> log) {
        this.repo = repo;
        this.endpoint = endpoint;
        this.log = log;
    }

    /** Serves until {@code stop} is requested; what it did. */
    public ArchiverResult run(Stop stop) {
        long t0 = System.nanoTime();
        if (!endpoint.fits()) {
            throw ChronoException.usage("the socket path " + endpoint.socket() + " is too long for a Unix socket (at most "
                    + ArchiverEndpoint.MAX_SOCKET_PATH + " bytes)", "give a shorter --socket to wal-archiver and to wal-push");
        }
        prepareDirectories();
        try (FileChannel lockFile = FileChannel.open(endpoint.lock(), java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
             FileLock lock = acquire(lockFile)) {
            // ours now: whatever socket is there belongs to a daemon that died (the lock died with it)
            Files.deleteIfExists(endpoint.socket());
            ExecutorService workers = Executors.newCachedThreadPool(daemonThreads("wal-archiver-push"));
            ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(daemonThreads("wal-archiver-timer"));
            ExecutorService aheadPool = Executors.newFixedThreadPool(aheadJobs, daemonThreads("wal-archiver-ahead"));
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                server.bind(UnixDomainSocketAddress.of(endpoint.socket()));
                Files.setPosixFilePermissions(endpoint.socket(), PosixFilePermissions.fromString("rw-------"));
                stop.attach(server);
                log.accept("wal-archiver: serving " + endpoint.repoLocation() + " on " + endpoint.socket());
                while (!stop.requested()) {
                    SocketChannel client;
                    try {
                        client = server.accept();
                    } catch (ClosedChannelException e) {
                        break;
                    }
                    workers.execute(() -> serve(client, workers, timer, aheadPool));
                }
            } finally {
                // requests already taken finish and are answered before the socket goes away
                workers.shutdown();
                awaitQuietly(workers);
                ahead.values().forEach(a -> a.ifPresent(ArchiveAhead::stop));
                aheadPool.shutdown();
                awaitQuietly(aheadPool);
                timer.shutdownNow();
                Files.deleteIfExists(endpoint.socket());
            }
        } catch (IOException e) {
            throw ChronoException.failed("wal-archiver: " + e.getMessage(), "check " + endpoint.socket().getParent());
        }
        return new ArchiverResult(endpoint.repoLocation(), endpoint.socket().toString(), stored.get(), already.get(), failed.get(),
                (System.nanoTime() - t0) / 1_000_000);
    }

    private void prepareDirectories() {
        try {
            if (!repo.remote()) {
                new WalArchive(repo).prepare();
                Path archive = new WalArchive(repo).root();
                String owner = Files.getOwner(archive).getName();
                String me = System.getProperty("user.name");
                // segments it stored would belong to us, and the server's own fallback wal-push could not write beside them
                if (!owner.equals(me)) {
                    throw ChronoException.usage("wal-archiver runs as " + me + " but " + archive + " belongs to " + owner,
                            "run it as the OS user the server runs archive_command as, e.g. runuser -u " + owner + " -- chrono-dr wal-archiver ...");
                }
            }
            Files.createDirectories(endpoint.socket().getParent());
        } catch (IOException e) {
            throw ChronoException.failed("wal-archiver: cannot prepare " + endpoint.socket().getParent() + ": " + e.getMessage(), null);
        }
    }

    private FileLock acquire(FileChannel ch) throws IOException {
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            throw ChronoException.usage("another wal-archiver already serves " + endpoint.repoLocation() + " (it holds " + endpoint.lock() + ")",
                    "one daemon per repository; stop the other one first");
        }
        return lock;
    }

    /** One request: {@code PUSH<TAB>REPO<TAB>ABSOLUTE_PATH}, answered ACCEPTED, WORKING..., then OK or ERR. */
    private void serve(SocketChannel client, ExecutorService workers, ScheduledExecutorService timer, ExecutorService aheadPool) {
        try (client) {
            var deadline = timer.schedule(() -> closeQuietly(client), REQUEST_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
            String request = readLine(client);
            deadline.cancel(false);
            if (request == null) {
                return;
            }
            String[] f = request.split("\t", -1);
            if (f.length != 3 || !f[0].equals("PUSH")) {
                send(client, ArchiverProtocol.error(ExitCode.USAGE, "wal-archiver: unknown request", "the wal-push client and daemon must be the same chrono-dr"));
                return;
            }
            if (!f[1].equals(endpoint.repoLocation())) {
                send(client, ArchiverProtocol.error(ExitCode.USAGE, "wal-archiver on " + endpoint.socket() + " serves " + endpoint.repoLocation()
                        + ", not " + f[1], "give wal-push the --socket of its own repository's wal-archiver"));
                return;
            }
            Path file = Path.of(f[2]);
            if (!file.isAbsolute()) {
                send(client, ArchiverProtocol.error(ExitCode.USAGE, "wal-archiver: not an absolute path: " + f[2], null));
                return;
            }
            send(client, "ACCEPTED");
            CompletableFuture<WalPushResult> push = CompletableFuture.supplyAsync(() -> WalService.push(repo, file), workers);
            learn(file, timer, aheadPool);
            String answer = await(push, client, file);
            try {
                send(client, answer);
            } catch (IOException gone) {
                // the client gave up waiting and stores it itself: harmless, a second push of the same bytes succeeds
            }
        } catch (IOException e) {
            // the client went away before its request was read: nothing was accepted
        }
    }

    /**
     * A segment handed over from a server's own pg_wal: from now on that server's ready segments are stored ahead
     * while its archive_command (the shell {@link ArchiveCommand#pushHandedOff} writes) asks for them.
     */
    private void learn(Path segment, ScheduledExecutorService timer, ExecutorService aheadPool) {
        try {
            ArchiveAhead.dataDirOf(segment).ifPresent(dir -> ahead.computeIfAbsent(dir, d -> ArchiveAhead.start(d, endpoint.repoLocation(),
                    s -> WalService.push(repo, s), counts, log, aheadJobs, aheadPool, timer)));
        } catch (RuntimeException e) {
            log.accept("wal-archiver: not storing ahead for " + segment.getParent() + " (" + e + ")");
        }
    }

    private final ArchiveAhead.Counts counts = new ArchiveAhead.Counts() {
        @Override
        public void stored(WalPushResult r) {
            (r.alreadyArchived() ? already : stored).incrementAndGet();
        }

        @Override
        public void refused() {
            failed.incrementAndGet();
        }
    };

    private String await(CompletableFuture<WalPushResult> push, SocketChannel client, Path file) {
        boolean listening = true;
        while (true) {
            try {
                WalPushResult r = push.get(HEARTBEAT.toMillis(), TimeUnit.MILLISECONDS);
                (r.alreadyArchived() ? already : stored).incrementAndGet();
                log.accept(r.alreadyArchived() ? "wal-archiver: " + r.name() + " already archived"
                        : "wal-archiver: " + r.name() + " archived (" + r.bytes() + " -> " + r.storedBytes() + " bytes, " + r.durationMs() + " ms)");
                return ArchiverProtocol.ok(r);
            } catch (TimeoutException e) {
                if (listening) {
                    try {
                        send(client, "WORKING");
                    } catch (IOException gone) {
                        listening = false; // finish the store anyway: the segment is on its way
                    }
                }
            } catch (ExecutionException e) {
                failed.incrementAndGet();
                Throwable c = e.getCause();
                ChronoException ce = c instanceof ChronoException x ? x
                        : ChronoException.failed("wal-push " + file.getFileName() + ": " + c, "see wal-archiver's log");
                log.accept("wal-archiver: " + ce.getMessage());
                return ArchiverProtocol.error(ce.exitCode(), ce.getMessage(), ce.hint());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return ArchiverProtocol.error(ExitCode.FAILED, "wal-archiver stopped before " + file.getFileName() + " was stored", null);
            }
        }
    }

    private static String readLine(SocketChannel ch) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(MAX_REQUEST);
        while (buf.hasRemaining()) {
            int n;
            try {
                n = ch.read(buf);
            } catch (AsynchronousCloseException e) {
                return null;
            }
            if (n < 0) {
                return null;
            }
            for (int i = buf.position() - n; i < buf.position(); i++) {
                if (buf.get(i) == '\n') {
                    return new String(buf.array(), 0, i, StandardCharsets.UTF_8);
                }
            }
        }
        return null;
    }

    private static void send(SocketChannel ch, String line) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static void awaitQuietly(ExecutorService pool) {
        try {
            pool.awaitTermination(10, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    static void closeQuietly(java.nio.channels.Channel c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException ignored) {
            // closing to stop: nothing more to do
        }
    }
}
