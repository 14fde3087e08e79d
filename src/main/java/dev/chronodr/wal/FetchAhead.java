package dev.chronodr.wal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;

/**
 * wal-fetch's look-ahead, as pgBackRest's archive-get queue: when the server asks for segment N,
 * a background process fetches N+1..N+depth into a private spool (checked against the archive's
 * SHA-256 as they are decompressed, as wal-fetch checks), so the next calls only move a file.
 * <p>
 * A spooled file is handed over only when its SHA-256 equals the one the archive records for exactly that
 * name (timeline and segment number are the name): a file changed in the spool, or left there by another
 * cluster's or repository's recovery, is deleted and the segment fetched from the archive instead. Past
 * {@code --until} nothing is spooled or handed over.
 * <p>
 * The prefetcher is resident (one per spool) and the usual hand-over is not this class but the
 * shell half of {@link ArchiveCommand#fetchSpooled}, which makes the same check against the archive's
 * sidecar, taking the SHA-256 from the prefetcher's vouch ({@link #spoolSegment}) for the very file it
 * checked and hashing anything else; this class is the fallback and the JVM's own path, and hashes.
 */
public final class FetchAhead {
    public static final int DEFAULT_DEPTH = 8;
    static final String LOCK = ".prefetch.lock";
    static final String LOG = "prefetch.log";
    /** {@code .NAME.ok}: the spooled NAME as fetched and checked (its stat identity), and its content's SHA-256. */
    static final String VOUCH = ".ok";
    /** The spool's default name, in the data directory (pg_wal's parent). */
    public static final String SPOOL_NAME = ".chrono-dr-fetch-ahead";
    /** How long a call waits for the running prefetcher to deliver a segment it is fetching. */
    private static final long WAIT_MILLIS = 60_000;
    /** Where wal-fetch tells the running prefetcher which segment it handed over from the archive itself. */
    static final String POSITION = ".position";
    /** The resident prefetcher ends when the archive had no next segment for this long... */
    static final long END_OF_ARCHIVE_MILLIS = Long.getLong("chronodr.prefetch.endMillis", 10_000);
    /** ...or when nothing was taken from the spool for this long (recovery paused, or ended elsewhere). */
    static final long IDLE_MILLIS = Long.getLong("chronodr.prefetch.idleMillis", 60_000);
    /** A hand-over by restore_command's shell moves the file to {@code .NAME.handover} while it checks it. */
    static final String HANDOVER_SUFFIX = ".handover";

    private final Repository repo;
    private final Path spool;
    private final int depth;
    private final String until;
    private final java.util.function.Supplier<dev.chronodr.crypto.SecretKeys> keys;

    public FetchAhead(Repository repo, Path spool, int depth, String until) {
        this(repo, spool, depth, until, () -> null);
    }

    /** {@code keys}: what decrypts encrypted segments (a supplier returning null: none given). */
    public FetchAhead(Repository repo, Path spool, int depth, String until, java.util.function.Supplier<dev.chronodr.crypto.SecretKeys> keys) {
        this.repo = repo;
        this.spool = spool;
        this.depth = depth;
        this.until = until;
        this.keys = keys;
    }

    public Path spool() {
        return spool;
    }

    /** The name {@code i} segments after {@code name}, for segments of {@code segmentBytes}. */
    static String next(String name, long segmentBytes, int i) {
        long perLog = 0x1_0000_0000L / segmentBytes;
        long n = Long.parseLong(name.substring(8, 16), 16) * perLog + Long.parseLong(name.substring(16), 16) + i;
        return name.substring(0, 8) + String.format("%08X%08X", n / perLog, n % perLog);
    }

    /**
     * Fetches {@code name} into the spool, checked against the archive's SHA-256 as it is written; whether it is
     * there now. The archive's full segment is written under a private name, vouched for in {@code .NAME.ok} (that
     * file's stat identity, {@link ArchiveAhead#identity}, and the SHA-256 of exactly the bytes written), and only
     * then renamed into place, which keeps the identity: restore_command's shell then hands that very file over
     * without hashing it again, while the archive's sidecar still has that line. A segment the archive has only as
     * {@code NAME.partial} (wal-receive's newest) is spooled with no vouch, so the shell hashes it, and refuses it
     * once the full segment is archived. No vouch for a repository in object storage: its restore_command has no
     * shell part.
     */
    public boolean spoolSegment(String name) {
        if (WalArchive.isSegmentName(name) && pastUntil(name)) {
            return false;
        }
        Path file = spool.resolve(name);
        if (!repo.remote()) {
            Path tmp = spool.resolve("." + name + ".fetch.tmp");
            try {
                java.util.Optional<WalArchive.Fetched> got = new WalArchive(repo).fetchChecked(name, tmp, keys);
                if (got.isPresent()) {
                    ArchiveAhead.replaceUnsynced(spool.resolve("." + name + VOUCH), ArchiveAhead.identity(tmp) + " " + got.get().sha256() + "\n");
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    return true;
                }
            } catch (IOException e) {
                // spooled the plain way below
            } finally {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a leftover .tmp, removed by the next prefetcher
                }
            }
        }
        return WalService.fetch(repo, name, file, until, keys).found();
    }

    /** Removes the vouches whose segment is no longer in the spool (handed over, refused, or never spooled). */
    private void sweepVouches() {
        try (var ls = Files.list(spool)) {
            for (Path p : ls.toList()) {
                String name = vouchedName(p);
                if (name != null && !Files.exists(spool.resolve(name))) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            // swept again later; a vouch without its file is never used
        }
    }

    /** Whether {@code p} is a vouch ({@code .NAME.ok}) for a segment; its segment's name, else null. */
    private static String vouchedName(Path p) {
        String f = p.getFileName().toString();
        if (f.startsWith(".") && f.endsWith(VOUCH)) {
            String name = f.substring(1, f.length() - VOUCH.length());
            return WalArchive.isSegmentName(name) ? name : null;
        }
        return null;
    }

    /** The segment after {@code name}. */
    public static String after(String name, long segmentBytes) {
        return next(name, segmentBytes, 1);
    }

    private boolean pastUntil(String name) {
        return until != null && name.substring(8).compareTo(until.substring(8)) > 0;
    }

    /**
     * The segment from the spool, verified, moved to {@code dest}; empty when the spool does not
     * have a good copy (the caller fetches it from the archive). Waits while the running
     * prefetcher is still fetching it.
     */
    public Optional<WalFetchResult> take(String name, Path dest, Consumer<String> warn) {
        if (!WalArchive.isSegmentName(name) || pastUntil(name) || !Files.isDirectory(spool)) {
            return Optional.empty();
        }
        Path file = spool.resolve(name);
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        while (!Files.exists(file) && System.currentTimeMillis() < deadline && prefetching(name)) {
            sleep(10);
        }
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            Optional<String> want = new WalArchive(repo).recordedSha256(name);
            String got = sha256(file);
            if (want.isEmpty() || !want.get().equals(got)) {
                warn.accept("wal-fetch: the spooled copy of " + name + " in " + spool + (want.isEmpty() ? " is not in the archive"
                        : " does not match the archive's SHA-256 (" + got.substring(0, 12) + ", recorded " + want.get().substring(0, 12) + ")")
                        + ": deleted, fetching from the archive");
                Files.deleteIfExists(file);
                Files.deleteIfExists(spool.resolve("." + name + VOUCH));
                return Optional.empty();
            }
            long bytes = Files.size(file);
            try {
                Files.move(file, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                AtomicFile.fsyncDirectory(dest.toAbsolutePath().getParent());
            } catch (AtomicMoveNotSupportedException otherDisk) {
                AtomicFile.write(dest, out -> Files.copy(file, out));
                Files.deleteIfExists(file);
            }
            return Optional.of(new WalFetchResult(name, dest.toString(), true, bytes, null));
        } catch (IOException e) {
            warn.accept("wal-fetch: cannot use the spooled copy of " + name + " (" + e.getMessage() + "): fetching from the archive");
            return Optional.empty();
        }
    }

    /** Whether a prefetcher runs now for this spool (it holds the lock while it lives). */
    boolean running() {
        Path lock = spool.resolve(LOCK);
        if (!Files.exists(lock)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) {
                return true;
            }
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Whether a prefetcher runs now and is fetching {@code name}. */
    private boolean prefetching(String name) {
        Path lock = spool.resolve(LOCK);
        if (!Files.exists(lock)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l != null) {
                l.release();
                return false;
            }
            String[] plan = new String(Files.readAllBytes(lock), StandardCharsets.US_ASCII).strip().split(" ");
            return plan.length == 2 && name.substring(0, 8).equals(plan[0].substring(0, 8))
                    && name.compareTo(plan[0]) >= 0 && name.compareTo(plan[1]) <= 0;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * After {@code name} was handed over (from the archive or the spool): the spool's entries that cannot be asked
     * for next (earlier segments, other timelines) are deleted, and a prefetcher is started unless
     * one runs. {@code start} launches {@code wal-fetch --prefetch FIRST} in the background.
     */
    public void after(String name, long segmentBytes, Consumer<String> start) {
        if (depth <= 0 || !WalArchive.isSegmentName(name) || segmentBytes <= 0 || (segmentBytes & (segmentBytes - 1)) != 0) {
            return;
        }
        String first = next(name, segmentBytes, 1);
        if (pastUntil(first)) {
            return;
        }
        try {
            Files.createDirectories(spool.getParent());
            if (!Files.isDirectory(spool)) {
                Files.createDirectory(spool, AtomicFile.privateDir());
            }
            String last = next(name, segmentBytes, depth);
            try (var ls = Files.list(spool)) {
                for (Path p : ls.toList()) {
                    String f = p.getFileName().toString();
                    boolean wanted = WalArchive.isSegmentName(f) && f.substring(0, 8).equals(name.substring(0, 8))
                            && f.compareTo(first) >= 0 && f.compareTo(last) <= 0;
                    String vouched = vouchedName(p);
                    if (WalArchive.isSegmentName(f) && !wanted || vouched != null && !Files.exists(spool.resolve(vouched))) {
                        Files.deleteIfExists(p);
                    }
                }
            }
            if (running()) {
                // the resident prefetcher keeps the window after the newest segment handed over: tell it this one
                AtomicFile.write(spool.resolve(POSITION), (name + "\n").getBytes(StandardCharsets.US_ASCII));
                return;
            }
            String half = next(name, segmentBytes, Math.max(1, depth / 2));
            if (!pastUntil(half) && !Files.exists(spool.resolve(half))) {
                start.accept(first);
            }
        } catch (IOException | RuntimeException e) {
            // the look-ahead only saves time: recovery goes on one segment at a time
        }
    }

    /** The server asked for something the archive does not have (the end of recovery): the spool is emptied. */
    public void clear() {
        if (!Files.isDirectory(spool)) {
            return;
        }
        try (var ls = Files.list(spool)) {
            for (Path p : ls.toList()) {
                if (WalArchive.isSegmentName(p.getFileName().toString()) || abandonedHandOver(p) || vouchedName(p) != null) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException ignored) {
            // entries left are verified before any is handed over
        }
    }

    /**
     * The background half, resident for the recovery: keeps the {@code depth} segments after the newest one
     * handed over in the spool, each fetched and checked against the archive's SHA-256 as wal-fetch does. It
     * sees hand-overs as its files leaving the spool (restore_command's shell moves them), and wal-fetch's own
     * fetches in {@value #POSITION}. One per spool (a lock held while it lives; it names the segment being
     * fetched, so that wal-fetch waits for that one). It ends when the archive has had no next segment for
     * {@link #END_OF_ARCHIVE_MILLIS}, nothing was taken for {@link #IDLE_MILLIS}, the server is gone (its
     * postmaster.pid, when there was one beside the spool), the spool is gone, or all up to --until is handed out.
     * {@code first}: the first segment after the one just handed over. Returns the number of segments fetched.
     */
    public int prefetch(String first, long segmentBytes) {
        WalArchive.requireValid(first);
        try {
            Files.createDirectories(spool);
            Path lockFile = spool.resolve(LOCK);
            try (FileChannel ch = FileChannel.open(lockFile, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                    AtomicFile.privateFile())) {
                FileLock lock = ch.tryLock();
                if (lock == null) {
                    return 0; // one runs already: wal-fetch told it where recovery is
                }
                removeAbandoned();
                return resident(ch, next(first, segmentBytes, -1), segmentBytes);
            } catch (OverlappingFileLockException e) {
                return 0;
            }
        } catch (IOException e) {
            throw ChronoException.failed("wal-fetch --prefetch: " + e.getMessage(), "check " + spool);
        }
    }

    private int resident(FileChannel plan, String handed, long segmentBytes) throws IOException {
        Path server = spool.toAbsolutePath().getParent().resolve("postmaster.pid");
        boolean watchServer = Files.exists(server);
        java.util.Set<String> mine = new java.util.HashSet<>();
        java.util.Set<String> refetched = new java.util.HashSet<>();
        String base = handed; // the newest segment handed over, as far as we can see
        String position = null;
        long lastTake = System.currentTimeMillis();
        boolean swept = true;
        long endSince = -1;
        int n = 0;
        while (Files.isDirectory(spool) && (!watchServer || Files.exists(server))) {
            long now = System.currentTimeMillis();
            for (String m : java.util.List.copyOf(mine)) {
                if (!Files.exists(spool.resolve(m))) {
                    mine.remove(m);
                    swept = false; // handed over: its vouch (and any other orphan) is of no use
                    lastTake = now;
                    if (m.substring(0, 8).equals(base.substring(0, 8)) && m.compareTo(base) > 0) {
                        base = m;
                    }
                }
            }
            if (!swept) {
                sweepVouches();
                swept = true;
            }
            String told = readPosition();
            if (told != null && !told.equals(position)) {
                position = told;
                lastTake = now;
                if (!told.substring(0, 8).equals(base.substring(0, 8)) || told.compareTo(base) > 0) {
                    base = told; // recovery moved on (or to another timeline) without the spool
                }
            }
            if (pastUntil(next(base, segmentBytes, 1))) {
                break; // all it may hand out is handed out
            }
            String want = null;
            boolean atEnd = false;
            for (int i = 1; i <= depth; i++) {
                String name = next(base, segmentBytes, i);
                if (pastUntil(name)) {
                    break;
                }
                if (Files.exists(spool.resolve(name))) {
                    continue;
                }
                if (new WalArchive(repo).recordedSha256(name).isEmpty()) {
                    atEnd = true; // the end of the archive (a NAME.partial is for wal-fetch itself to hand out)
                } else {
                    want = name;
                }
                break;
            }
            if (want != null) {
                endSince = -1;
                plan.truncate(0);
                plan.write(ByteBuffer.wrap((want + " " + want + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
                boolean got = spoolSegment(want);
                plan.truncate(0);
                if (got) {
                    mine.add(want);
                    n++;
                    continue;
                }
                atEnd = true;
            }
            if (atEnd && !refetched.contains(base) && !Files.exists(spool.resolve(base)) && !pastUntil(base)) {
                // at its end of WAL the server reads the newest segment again (after "redo done"): have it ready
                refetched.add(base);
                if (spoolSegment(base)) {
                    mine.add(base);
                    n++;
                }
                continue;
            }
            if (atEnd) {
                endSince = endSince < 0 ? now : endSince;
                if (now - endSince > END_OF_ARCHIVE_MILLIS) {
                    break;
                }
            }
            if (now - lastTake > IDLE_MILLIS) {
                break;
            }
            sleep(atEnd ? 200 : 20);
        }
        plan.truncate(0);
        // what nobody took is not left in the data directory (a later recovery would fetch it again anyway)
        for (String m : mine) {
            Files.deleteIfExists(spool.resolve(m));
        }
        sweepVouches();
        return n;
    }

    private String readPosition() {
        try {
            String s = Files.readString(spool.resolve(POSITION), StandardCharsets.US_ASCII).strip();
            return WalArchive.isSegmentName(s) ? s : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Temp files of a prefetcher killed mid-write (no prefetcher runs: we hold the lock). */
    private void removeAbandoned() throws IOException {
        try (var ls = Files.list(spool)) {
            for (Path p : ls.toList()) {
                String f = p.getFileName().toString();
                if (f.startsWith(".") && f.endsWith(".tmp") || abandonedHandOver(p)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** A hand-over by restore_command's shell that did not finish (killed): never handed over, removed after a minute. */
    private static boolean abandonedHandOver(Path p) {
        String f = p.getFileName().toString();
        try {
            return f.startsWith(".") && f.endsWith(HANDOVER_SUFFIX)
                    && Files.getLastModifiedTime(p).toMillis() < System.currentTimeMillis() - 60_000;
        } catch (IOException e) {
            return false;
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest sha = WalArchive.sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
    /**
     * Before picocli is built: {@code wal-fetch --repo /ABS [--until S] [--lookahead N] [--spool D] NAME DEST}
     * whose NAME is spooled and whose window needs no refill is handed over by a small JVM.
     * Returns the exit code, or -1 when the full command must run (another form, nothing spooled,
     * a refill to start, a spooled copy refused: the full command then fetches from the archive).
     */
    public static int fastTake(String[] args, java.io.PrintWriter out, java.io.PrintWriter err, dev.chronodr.core.Environment env) {
        String repo = null;
        String until = null;
        String spoolFlag = null;
        int depth = DEFAULT_DEPTH;
        java.util.List<String> words = new java.util.ArrayList<>();
        try {
            for (int i = 1; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--repo" -> repo = args[++i];
                    case "--until" -> until = args[++i];
                    case "--spool" -> spoolFlag = args[++i];
                    case "--lookahead" -> depth = Integer.parseInt(args[++i]);
                    default -> {
                        if (a.startsWith("--repo=")) {
                            repo = a.substring(7);
                        } else if (a.startsWith("-")) {
                            return -1;
                        } else {
                            words.add(a);
                        }
                    }
                }
            }
            if (repo == null) {
                repo = env.get("CHRONO_DR_REPO");
            }
            if (words.size() != 2 || repo == null || !repo.startsWith("/") || depth <= 0 || !WalArchive.isSegmentName(words.get(0))
                    || (until != null && !WalArchive.isSegmentName(until))) {
                return -1;
            }
            String name = words.get(0);
            Path dest = env.resolve(words.get(1));
            Path spool;
            if (spoolFlag != null) {
                spool = env.resolve(spoolFlag);
            } else {
                Path parent = dest.toAbsolutePath().getParent();
                if (parent == null || parent.getParent() == null || parent.getFileName() == null
                        || !parent.getFileName().toString().equals("pg_wal")) {
                    return -1;
                }
                spool = parent.getParent().resolve(SPOOL_NAME);
            }
            FetchAhead fa = new FetchAhead(new Repository(Path.of(repo)), spool, depth, until);
            Path file = spool.resolve(name);
            if (fa.pastUntil(name) || !Files.exists(file)) {
                return -1;
            }
            long size = Files.size(file);
            if (size <= 0 || (size & (size - 1)) != 0) {
                return -1;
            }
            String half = next(name, size, Math.max(1, depth / 2));
            if (!fa.pastUntil(half) && !Files.exists(spool.resolve(half)) && !fa.running()) {
                return -1; // the window needs a refill: the full command starts the prefetcher
            }
            Optional<WalFetchResult> got = fa.take(name, dest, line -> {
                err.println(line);
                err.flush();
            });
            if (got.isEmpty()) {
                return -1;
            }
            new dev.chronodr.report.Renderer(dev.chronodr.report.Format.TEXT, false).render(got.get(), out);
            out.flush();
            return 0;
        } catch (RuntimeException | IOException e) {
            return -1;
        }
    }
}
