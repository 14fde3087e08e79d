package dev.chronodr.wal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

import dev.chronodr.repo.WalArchive;

/**
 * wal-archiver's look-ahead for one server, as pgBackRest's asynchronous archive-push: it stores
 * the segments the server has marked ready ({@code pg_wal/archive_status/NAME.ready}) before
 * archive_command asks, on the daemon's threads, and leaves an acknowledgement for each one stored
 * in {@code DATADIR/.chrono-dr-archived/NAME}. The archive_command {@code pitr setup} writes
 * ({@link ArchiveCommand#pushHandedOff}) finds it there and returns with no JVM start.
 * <p>
 * What an acknowledgement vouches for: one line, {@code DEV INO SIZE MTIME REPO} ({@code stat -c
 * "%d %i %s %.9Y"} of the segment file, then the repository), written only after the segment was
 * stored with the same code as wal-push (fsynced and renamed) and only when the file had the same
 * identity before it was read and after it was stored. The shell compares the whole line with the
 * file the server names and the repository its command names, so an acknowledgement of another
 * file (a copy in a base backup, a recycled segment, another repository's daemon) is never taken.
 * A segment the store refused (another one under that name, a full disk) gets {@code NAME.refused}
 * with the reason: the shell then runs wal-push, which says why. {@code .alive}, touched every
 * second, tells the shell a daemon is at work for this server; the shell waits for an
 * acknowledgement only while it is fresh. Acknowledgements whose {@code .ready} is gone (the server
 * has archived the segment) are removed; on a clean stop the directory is removed.
 */
final class ArchiveAhead {
    static final String DIR_NAME = ".chrono-dr-archived";
    static final String ALIVE = ".alive";
    static final String REFUSED = ".refused";
    static final String ASKED = ".asked";
    /**
     * Stores ahead only while the server asked (the shell wrote .asked) this recently: a paused or changed
     * archive_command stops it within this long. The shell asks again every half second while it waits.
     */
    static final long ASK_WINDOW_MS = 2_000;
    private static final String READY = ".ready";
    private static final long SCAN_MS = 20;
    private static final long HEARTBEAT_MS = 1000;

    private final Path dataDir;
    private final Path status;
    private final Path acks;
    private final String repoLocation;
    private final Function<Path, WalPushResult> store;
    private final Counts counts;
    private final Consumer<String> log;
    private final int jobs;
    private final Map<String, Future<?>> inFlight = new ConcurrentHashMap<>();
    private volatile boolean stopping;
    private volatile ScheduledFuture<?> scans;
    private volatile ScheduledFuture<?> beats;

    /** What the daemon counts for its summary. */
    interface Counts {
        void stored(WalPushResult r);

        void refused();
    }

    private ArchiveAhead(Path dataDir, String repoLocation, Function<Path, WalPushResult> store, Counts counts,
                         Consumer<String> log, int jobs) {
        this.dataDir = dataDir;
        this.status = dataDir.resolve("pg_wal").resolve("archive_status");
        this.acks = dataDir.resolve(DIR_NAME).resolve(key(repoLocation));
        this.repoLocation = repoLocation;
        this.store = store;
        this.counts = counts;
        this.log = log;
        this.jobs = jobs;
    }

    /**
     * The directory of one repository's acknowledgements, under {@value #DIR_NAME}: the first 16 hex digits of the
     * SHA-256 of its location. Daemons of two repositories (archive_command moved from one to the other) never
     * read or remove each other's files, and the shell of one never waits on the other's heartbeat.
     */
    static String key(String repoLocation) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(repoLocation.getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(d, 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The data directory a segment wal-push named lives in, when it is a server's own
     * ({@code DATADIR/pg_wal/NAME}, with {@code archive_status} and {@code PG_VERSION}).
     */
    static java.util.Optional<Path> dataDirOf(Path segment) {
        Path wal = segment.getParent();
        if (wal == null || wal.getFileName() == null || !wal.getFileName().toString().equals("pg_wal")
                || !WalArchive.isSegmentName(segment.getFileName().toString())) {
            return java.util.Optional.empty();
        }
        Path dir = wal.getParent();
        if (dir == null || !Files.isDirectory(wal.resolve("archive_status")) || !Files.isRegularFile(dir.resolve("PG_VERSION"))) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(dir);
    }

    /** Starts watching {@code dataDir}; empty when its acknowledgement directory cannot be made (said in the log). */
    static java.util.Optional<ArchiveAhead> start(Path dataDir, String repoLocation, Function<Path, WalPushResult> store,
                                                  Counts counts, Consumer<String> log, int jobs,
                                                  ExecutorService workers, ScheduledExecutorService timer) {
        ArchiveAhead a = new ArchiveAhead(dataDir, repoLocation, store, counts, log, jobs);
        try {
            a.prepare();
        } catch (IOException e) {
            log.accept("wal-archiver: not storing ahead for " + dataDir + ": " + e.getMessage() + " (wal-push still hands each segment over)");
            return java.util.Optional.empty();
        }
        a.scans = timer.scheduleWithFixedDelay(() -> a.scan(workers), 0, SCAN_MS, TimeUnit.MILLISECONDS);
        a.beats = timer.scheduleWithFixedDelay(a::beat, HEARTBEAT_MS, HEARTBEAT_MS, TimeUnit.MILLISECONDS);
        if (a.stopping) {
            a.cancel(); // gave up in its first scan, before the futures were known
        }
        log.accept("wal-archiver: storing ahead the segments " + dataDir + " marks ready");
        return java.util.Optional.of(a);
    }

    private void prepare() throws IOException {
        for (Path d : List.of(acks.getParent(), acks)) {
            if (Files.isSymbolicLink(d)) {
                throw new IOException(d + " is a symbolic link");
            }
            if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(d, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
        }
        // acknowledgements of an earlier daemon are of no use to this one: it stores again what is still ready
        clearAcks();
        Files.write(acks.resolve(ALIVE), (repoLocation + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private void beat() {
        if (stopping) {
            return;
        }
        try {
            Files.setLastModifiedTime(acks.resolve(ALIVE), FileTime.from(Instant.now()));
        } catch (IOException e) {
            // the data directory went away (the server was removed); the scan stops us
        }
    }

    /**
     * One look at archive_status. Never throws: a scheduled task that throws is never run again, and a heartbeat
     * beside a dead scan would keep the shell waiting its whole deadline for every segment.
     */
    private synchronized void scan(ExecutorService workers) {
        if (stopping) {
            return;
        }
        try {
            scanOnce(workers);
        } catch (Throwable t) {
            giveUp("the look-ahead failed (" + t + ")");
        }
    }

    /** Starts what is ready and not yet taken, drops what the server is done with. */
    private void scanOnce(ExecutorService workers) {
        Set<String> ready = new TreeSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(status, "*" + READY)) {
            for (Path p : ds) {
                String f = p.getFileName().toString();
                String name = f.substring(0, f.length() - READY.length());
                if (WalArchive.isSegmentName(name)) {
                    ready.add(name);
                }
            }
        } catch (IOException e) {
            if (!Files.isDirectory(status)) {
                giveUp(status + " is gone");
            }
            return;
        }
        forgetDone(ready);
        if (!asked()) {
            return;
        }
        for (String name : ready) {
            if (inFlight.size() >= jobs) {
                break;
            }
            if (inFlight.containsKey(name) || Files.exists(acks.resolve(name)) || Files.exists(acks.resolve(name + REFUSED))) {
                continue;
            }
            java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
            inFlight.put(name, done); // before the task runs: it removes itself when done
            try {
                workers.execute(() -> {
                    try {
                        storeAhead(name);
                    } finally {
                        inFlight.remove(name);
                        done.complete(null);
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                inFlight.remove(name);
                return;
            }
        }
    }

    /**
     * Whether the server ran this repository's archive_command lately: its shell writes {@code .asked}. A plain
     * wal-push (any other archive_command) never asks, so nothing is stored ahead for it.
     */
    private boolean asked() {
        try {
            return System.currentTimeMillis() - Files.getLastModifiedTime(acks.resolve(ASKED)).toMillis() < ASK_WINDOW_MS;
        } catch (IOException e) {
            return false;
        }
    }

    private void storeAhead(String name) {
        Path segment = dataDir.resolve("pg_wal").resolve(name);
        try {
            String before = identity(segment);
            WalPushResult r = store.apply(segment);
            String after = identity(segment);
            counts.stored(r);
            if (before.equals(after)) {
                try {
                    publish(name, before + " " + repoLocation + "\n");
                } catch (IOException e) {
                    giveUp("cannot write " + acks.resolve(name) + ": " + e.getMessage());
                    return;
                }
                log.accept("wal-archiver: " + name + (r.alreadyArchived() ? " already archived" : " archived ahead (" + r.bytes() + " -> "
                        + r.storedBytes() + " bytes, " + r.durationMs() + " ms)"));
            } else {
                log.accept("wal-archiver: " + name + " changed while it was stored; wal-push will store it");
            }
        } catch (dev.chronodr.core.ChronoException e) {
            counts.refused();
            log.accept("wal-archiver: " + e.getMessage());
            try {
                publish(name + REFUSED, e.getMessage() + "\n");
            } catch (IOException io) {
                giveUp("cannot write " + acks.resolve(name + REFUSED) + ": " + io.getMessage());
            }
        } catch (Throwable t) {
            // gone already (archived and recycled by the server), unreadable, out of memory: the shell must not wait
            // its deadline for an acknowledgement that will not come, so it is sent to wal-push, which deals with it
            log.accept("wal-archiver: " + name + " not stored ahead (" + t + "); wal-push will store it");
            try {
                publish(name + REFUSED, t + "\n");
            } catch (IOException | RuntimeException io) {
                giveUp("cannot write " + acks.resolve(name + REFUSED) + ": " + io.getMessage());
            }
        }
    }

    /**
     * Acknowledgements cannot be written (a full or read-only data directory): without one the shell would wait
     * its whole deadline for every segment, so the heartbeat goes and the shell runs wal-push at once.
     */
    private void giveUp(String why) {
        if (stopping) {
            return;
        }
        stopping = true;
        cancel();
        try {
            Files.deleteIfExists(acks.resolve(ALIVE));
        } catch (IOException e) {
            // no longer touched: stale within 5 s, which the shell checks
        }
        log.accept("wal-archiver: " + why + "; no longer storing ahead for " + dataDir + " (wal-push hands each segment over)");
    }

    /** The {@code stat -c} format of a file's identity: device, inode, size, modification time in nanoseconds. */
    static final String STAT_IDENTITY = "%d %i %s %.9Y";

    /** {@code stat -c STAT_IDENTITY} of {@code file}, from the same fields. */
    static String identity(Path file) throws IOException {
        Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime");
        Instant m = ((FileTime) a.get("lastModifiedTime")).toInstant();
        return a.get("dev") + " " + a.get("ino") + " " + a.get("size") + " " + m.getEpochSecond() + "." + String.format("%09d", m.getNano());
    }

    private void publish(String file, String line) throws IOException {
        replaceUnsynced(acks.resolve(file), line);
    }

    /**
     * Writes {@code target} whole under a hidden temp name and renames it into place, with no fsync: a reader sees
     * all of it or none. For what the shell checks and a crash may lose (acknowledgements, vouches): a torn one
     * names no file, and the shell then takes the slow way.
     */
    static void replaceUnsynced(Path target, String text) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        Files.write(tmp, text.getBytes(StandardCharsets.UTF_8));
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Removes the acknowledgements and refusals of segments no longer ready (the server archived them). */
    private void forgetDone(Set<String> ready) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(acks)) {
            for (Path p : ds) {
                String f = p.getFileName().toString();
                String name = f.endsWith(REFUSED) ? f.substring(0, f.length() - REFUSED.length()) : f;
                if (WalArchive.isSegmentName(name) && !ready.contains(name) && !inFlight.containsKey(name)) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            // tried again at the next scan
        }
    }

    private void cancel() {
        ScheduledFuture<?> s = scans;
        ScheduledFuture<?> b = beats;
        if (s != null) {
            s.cancel(false);
        }
        if (b != null) {
            b.cancel(false);
        }
    }

    private void clearAcks() throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(acks)) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Stops taking segments, lets those being stored finish, then removes the directory: the shell runs wal-push again. */
    void stop() {
        synchronized (this) { // no scan is half-way through starting a store
            stopping = true;
        }
        cancel();
        try {
            Files.deleteIfExists(acks.resolve(ALIVE));
        } catch (IOException ignored) {
            // the shell's heartbeat check then finds it stale
        }
        for (Future<?> f : inFlight.values()) {
            try {
                f.get(10, TimeUnit.MINUTES);
            } catch (Exception ignored) {
                // finished either way
            }
        }
        try {
            clearAcks();
            Files.deleteIfExists(acks);
            try {
                Files.deleteIfExists(acks.getParent()); // when no other repository's daemon uses it
            } catch (java.nio.file.DirectoryNotEmptyException others) {
                // another repository's acknowledgements: theirs to remove
            }
        } catch (IOException ignored) {
            // a leftover directory without .alive: the shell never waits on it
        }
    }
}
