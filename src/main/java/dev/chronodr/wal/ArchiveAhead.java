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
    /** Stores ahead only while the server asked (its archive_command ran) this recently: a paused archive_command pauses it. */
    static final long ASK_WINDOW_MS = 10_000;
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
    private volatile long handedOverAt;
    private ScheduledFuture<?> scans;
    private ScheduledFuture<?> beats;

    /** What the daemon counts for its summary. */
    interface Counts {
        void stored(WalPushResult r);

        void refused();
    }

    private ArchiveAhead(Path dataDir, String repoLocation, Function<Path, WalPushResult> store, Counts counts,
                         Consumer<String> log, int jobs) {
        this.dataDir = dataDir;
        this.status = dataDir.resolve("pg_wal").resolve("archive_status");
        this.acks = dataDir.resolve(DIR_NAME);
        this.repoLocation = repoLocation;
        this.store = store;
        this.counts = counts;
        this.log = log;
        this.jobs = jobs;
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
        log.accept("wal-archiver: storing ahead the segments " + dataDir + " marks ready");
        return java.util.Optional.of(a);
    }

    Path dataDir() {
        return dataDir;
    }

    private void prepare() throws IOException {
        if (Files.isSymbolicLink(acks)) {
            throw new IOException(acks + " is a symbolic link");
        }
        if (!Files.isDirectory(acks, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(acks, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        // acknowledgements of an earlier daemon are of no use to this one: it stores again what is still ready
        clearAcks();
        Files.write(acks.resolve(ALIVE), (repoLocation + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private void beat() {
        try {
            Files.setLastModifiedTime(acks.resolve(ALIVE), FileTime.from(Instant.now()));
        } catch (IOException e) {
            // the data directory went away (the server was removed); the scan stops us
        }
    }

    /** One look at archive_status: start what is ready and not yet taken, drop what the server is done with. */
    private void scan(ExecutorService workers) {
        if (stopping) {
            return;
        }
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
                log.accept("wal-archiver: " + status + " is gone: no longer storing ahead for " + dataDir);
                stopping = true;
                scans.cancel(false);
                beats.cancel(false);
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

    /** wal-push handed a segment of this server over through the socket: the server is archiving. */
    void handedOver() {
        handedOverAt = System.currentTimeMillis();
    }

    /** Whether the server ran archive_command lately: the shell writes {@code .asked}, the socket counts too. */
    private boolean asked() {
        long now = System.currentTimeMillis();
        if (now - handedOverAt < ASK_WINDOW_MS) {
            return true;
        }
        try {
            return now - Files.getLastModifiedTime(acks.resolve(ASKED)).toMillis() < ASK_WINDOW_MS;
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
        } catch (IOException | RuntimeException e) {
            // gone already (archived and recycled by the server), or unreadable: wal-push deals with it
        }
    }

    /**
     * Acknowledgements cannot be written (a full or read-only data directory): without one the shell would wait
     * its whole deadline for every segment, so the heartbeat goes and the shell runs wal-push at once.
     */
    private void giveUp(String why) {
        stopping = true;
        scans.cancel(false);
        beats.cancel(false);
        try {
            Files.deleteIfExists(acks.resolve(ALIVE));
        } catch (IOException e) {
            // no longer touched: stale within 5 s, which the shell checks
        }
        log.accept("wal-archiver: " + why + "; no longer storing ahead for " + dataDir + " (wal-push hands each segment over)");
    }

    /** {@code stat -c "%d %i %s %.9Y"} of {@code file}, from the same fields. */
    static String identity(Path file) throws IOException {
        Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime");
        Instant m = ((FileTime) a.get("lastModifiedTime")).toInstant();
        return a.get("dev") + " " + a.get("ino") + " " + a.get("size") + " " + m.getEpochSecond() + "." + String.format("%09d", m.getNano());
    }

    private void publish(String file, String line) throws IOException {
        Path tmp = acks.resolve("." + file + ".tmp");
        Files.write(tmp, line.getBytes(StandardCharsets.UTF_8));
        Files.move(tmp, acks.resolve(file), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
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

    private void clearAcks() throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(acks)) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Stops taking segments, lets those being stored finish, then removes the directory: the shell runs wal-push again. */
    void stop() {
        stopping = true;
        if (scans != null) {
            scans.cancel(false);
            beats.cancel(false);
        }
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
        } catch (IOException ignored) {
            // a leftover directory without .alive: the shell never waits on it
        }
    }
}
