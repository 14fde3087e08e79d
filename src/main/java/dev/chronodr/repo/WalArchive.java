package dev.chronodr.repo;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;

/**
 * The WAL archive inside a repository:
 * <pre>
 *   REPO/wal/TIMELINE/NAME.zst      the file, zstd level 1 (readable with `zstd -dc`)
 *   REPO/wal/TIMELINE/NAME.sha256   SHA-256 of the uncompressed content, hex
 * </pre>
 * TIMELINE is the first 8 hex digits of the name, so a timeline's segments sit together
 * and a listing stays short. The sidecar is renamed into place before the data file, so a
 * present {@code .zst} always has its checksum; the {@code .zst} alone marks "archived".
 * Both are written through the repository's {@link Storage} (atomic, private, durable before
 * we return: the server deletes its segment as soon as we return 0), the {@code .zst} by a
 * write that never replaces an existing file.
 */
public final class WalArchive {
    /** Segments, partial segments, backup history files and timeline history files. */
    private static final Pattern NAME = Pattern.compile(
            "[0-9A-F]{24}(\\.partial|\\.[0-9A-F]{8}\\.backup)?|[0-9A-F]{8}\\.history");
    private static final Pattern SEGMENT = Pattern.compile("[0-9A-F]{24}");
    static final String SUFFIX = ".zst";
    static final String SUM_SUFFIX = ".sha256";

    static final String PREFIX = "wal";

    private final Repository repo;
    private final Storage storage;
    private final String where;

    public WalArchive(Path repo) {
        this(new Repository(repo));
    }

    public WalArchive(Repository repo) {
        this.repo = repo;
        this.storage = repo.storage();
        this.where = repo.location() + "/" + PREFIX;
    }

    /**
     * The archive's directory, for setting up the server's access to it (a usage error on
     * object storage, which has no directory to give).
     */
    public Path root() {
        return repo.root().resolve(PREFIX);
    }

    /** Where the archive is, for messages: its directory or s3://bucket/prefix/wal. */
    public String location() {
        return where;
    }

    /** Outcome of a push: stored now, or already there with the same content. */
    public record Pushed(String name, String file, boolean alreadyArchived, long bytes, long storedBytes, String sha256) {
    }

    /** One archived file, as listed. */
    public record Entry(String name, String timeline, String file, long storedBytes, Instant archivedAt) {
        public boolean isSegment() {
            return SEGMENT.matcher(name).matches();
        }
    }

    /**
     * The suffix PostgreSQL gives a segment still being written (pg_receivewal, a promoted
     * standby's last one): WAL naming, not the repository's private {@code .partial} area.
     */
    public static final String PARTIAL_SEGMENT = ".partial";

    /** NAME.partial for a segment NAME. */
    public static boolean isPartialSegmentName(String name) {
        return name != null && name.endsWith(PARTIAL_SEGMENT) && isSegmentName(name.substring(0, name.length() - PARTIAL_SEGMENT.length()));
    }

    /** A WAL segment's name (not a history or backup file). */
    public static boolean isSegmentName(String name) {
        return name != null && SEGMENT.matcher(name).matches();
    }

    public static boolean validName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    public static String requireValid(String name) {
        if (!validName(name)) {
            throw ChronoException.usage("'" + name + "' is not a WAL file name",
                    "expected a segment (24 hex digits), NAME.partial, NAME.XXXXXXXX.backup or TTTTTTTT.history");
        }
        return name;
    }

    private static String keyFor(String name) {
        return PREFIX + "/" + name.substring(0, 8) + "/" + name + SUFFIX;
    }

    private static String sumKeyFor(String name) {
        return PREFIX + "/" + name.substring(0, 8) + "/" + name + SUM_SUFFIX;
    }

    private String fileFor(String name) {
        return where + "/" + name.substring(0, 8) + "/" + name + SUFFIX;
    }

    public boolean contains(String name) {
        try {
            return storage.exists(keyFor(requireValid(name)));
        } catch (IOException e) {
            throw ChronoException.failed("cannot read the WAL archive " + where + ": " + e.getMessage(), null);
        }
    }

    private static final long IN_MEMORY = 16L << 20;

    /** Archives one file from the server's pg_wal. */
    public Pushed push(Path source) {
        String name = requireValid(source.getFileName().toString());
        if (!Files.isRegularFile(source)) {
            throw ChronoException.failed("wal-push: " + source + " does not exist or is not a file", "archive_command must pass %p");
        }
        String target = fileFor(name);
        try {
            if (storage.exists(keyFor(name))) {
                return compareExisting(name, source, target);
            }
            long raw = Files.size(source);
            Packed packed = raw <= IN_MEMORY ? compressInMemory(source) : new Packed(null, shaOf(source));
            String hex = packed.sha256();
            storage.write(sumKeyFor(name), out -> out.write((hex + "  " + name + "\n").getBytes(StandardCharsets.US_ASCII)));
            Storage.Written stored;
            try {
                byte[] data = packed.data();
                stored = storage.create(keyFor(name), data != null ? out -> out.write(data) : out -> compressStreaming(source, out));
            } catch (FileAlreadyExistsException raced) {
                // a concurrent push of the same name got there first: never overwritten
                return compareExisting(name, source, target);
            }
            return new Pushed(name, target, false, raw, stored.size(), hex);
        } catch (IOException e) {
            throw ChronoException.failed("wal-push " + name + ": " + e.getMessage(), "check free space and permissions of " + where);
        }
    }

    /** A segment compressed in memory (null: too large, streamed) and the SHA-256 of its content. */
    private record Packed(byte[] data, String sha256) {
    }

    /**
     * A segment of the default 16 MB (or smaller) is read once into memory: the checksum is computed on a
     * second thread while zstd compresses it in one call (a third of wal-push's time
     * against the 16 KB stream). Larger segments (initdb --wal-segsize up to 1 GB) stream,
     * read once for the checksum (the sidecar is stored first) and once to compress.
     */
    private static Packed compressInMemory(Path source) throws IOException {
        byte[] data = Files.readAllBytes(source);
        CompletableFuture<String> sum = CompletableFuture.supplyAsync(() -> HexFormat.of().formatHex(sha256().digest(data)));
        byte[] packed;
        try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
            packed = ctx.setLevel(1).setChecksum(true).compress(data);
        }
        return new Packed(packed, sum.join());
    }

    private static String shaOf(Path source) throws IOException {
        MessageDigest sha = sha256();
        try (InputStream in = new DigestInputStream(new BufferedInputStream(Files.newInputStream(source), 1 << 20), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void compressStreaming(Path source, OutputStream out) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(source), 1 << 20);
             ZstdOutputStream z = new ZstdOutputStream(new BufferedOutputStream(nonClosing(out), 1 << 20), 1)) {
            z.setChecksum(true);
            in.transferTo(z);
        }
    }

    private static OutputStream nonClosing(OutputStream out) {
        return new java.io.FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                flush();
            }
        };
    }

    private Pushed compareExisting(String name, Path source, String target) throws IOException {
        String have = storedSha(name);
        MessageDigest sha = sha256();
        long raw;
        try (InputStream in = new DigestInputStream(Files.newInputStream(source), sha)) {
            raw = in.transferTo(OutputStream.nullOutputStream());
        }
        String hex = HexFormat.of().formatHex(sha.digest());
        if (!hex.equals(have)) {
            throw new ChronoException(ExitCode.FAILED, "wal-push: " + name + " is already archived in " + target
                    + " with different content (sha256 " + abbrev(have) + " there, " + abbrev(hex) + " here)",
                    "two servers may be archiving into the same repository, or a restored copy kept archive_mode on; "
                            + "give each cluster its own --repo. The archived file was not touched.");
        }
        return new Pushed(name, target, true, raw, storedSize(name), hex);
    }

    private long storedSize(String name) throws IOException {
        return storage.info(keyFor(name)).map(Storage.StoredObject::size).orElse(0L);
    }

    /** The recorded checksum, or (sidecar lost) the checksum of the decompressed content. */
    private String storedSha(String name) throws IOException {
        String sumKey = sumKeyFor(name);
        if (storage.exists(sumKey)) {
            String s;
            try (InputStream in = storage.read(sumKey)) {
                s = new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
            }
            int sp = s.indexOf(' ');
            return sp > 0 ? s.substring(0, sp) : s;
        }
        MessageDigest sha = sha256();
        try (InputStream in = new DigestInputStream(new ZstdInputStream(storage.read(keyFor(name))), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * The SHA-256 recorded for an archived file, or empty when the archive does not have it:
     * what wal-fetch's look-ahead checks a spooled copy against before handing it over.
     */
    public Optional<String> recordedSha256(String name) {
        requireValid(name);
        try {
            return storage.exists(keyFor(name)) ? Optional.of(storedSha(name)) : Optional.empty();
        } catch (IOException e) {
            throw ChronoException.failed("cannot read the WAL archive " + where + ": " + e.getMessage(), null);
        }
    }

    /**
     * Restores one file to {@code dest}, checking its SHA-256; empty when the archive does
     * not have it (normal at the end of recovery).
     */
    public Optional<Long> fetch(String name, Path dest) {
        requireValid(name);
        String source = fileFor(name);
        try {
            if (!storage.exists(keyFor(name))) {
                return Optional.empty();
            }
            String expected = storedSha(name);
            long[] n = {0};
            // dest appears whole and checked, or not at all: the server must never replay a torn or corrupt segment
            AtomicFile.write(dest, out -> {
                MessageDigest sha = sha256();
                try (InputStream in = new DigestInputStream(new ZstdInputStream(new BufferedInputStream(storage.read(keyFor(name)), 1 << 16)), sha)) {
                    n[0] = in.transferTo(out);
                }
                String got = HexFormat.of().formatHex(sha.digest());
                if (!got.equals(expected)) {
                    throw new ChronoException(ExitCode.CRITICAL, "wal-fetch: " + name + " in " + source + " is corrupt (sha256 "
                            + abbrev(got) + ", recorded " + abbrev(expected) + ")", "the archive copy is damaged; recovery cannot pass this point");
                }
            });
            return Optional.of(n[0]);
        } catch (NoSuchFileException e) {
            if (!contains(name)) {
                return Optional.empty();
            }
            throw ChronoException.failed("wal-fetch " + name + ": " + e.getMessage(), null);
        } catch (IOException e) {
            throw ChronoException.failed("wal-fetch " + name + ": " + e.getMessage(), "check " + dest.getParent() + " and " + source);
        }
    }

    /** Everything archived, sorted by timeline then name. */
    public List<Entry> list() {
        List<Entry> out = new ArrayList<>();
        try {
            for (String tl : storage.children(PREFIX)) {
                String dir = PREFIX + "/" + tl + "/";
                for (Storage.StoredObject o : storage.list(PREFIX + "/" + tl)) {
                    String fn = o.key().substring(dir.length());
                    if (fn.contains("/") || !fn.endsWith(SUFFIX)) {
                        continue;
                    }
                    String name = fn.substring(0, fn.length() - SUFFIX.length());
                    if (validName(name)) {
                        out.add(new Entry(name, tl, where + "/" + tl + "/" + fn, o.size(), o.modified()));
                    }
                }
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot list the WAL archive " + where + ": " + e.getMessage(), null);
        }
        out.sort(java.util.Comparator.comparing(Entry::timeline).thenComparing(Entry::name));
        return out;
    }

    /** What a push killed mid-write leaves: AtomicFile's temp file beside the file it was writing. */
    private static final Pattern ABANDONED = Pattern.compile("\\.(.+)\\.(zst|sha256)\\.[0-9]+\\.tmp");

    /**
     * Removes the temp files of pushes that were killed mid-write and are older than
     * {@code before}: nothing else ever renames or removes them. A younger one may belong to
     * a push that is running now, so it stays.
     */
    public List<Storage.StoredObject> removeAbandonedWrites(Instant before, boolean dryRun) throws IOException {
        List<Storage.StoredObject> removed = new ArrayList<>();
        for (String tl : storage.children(PREFIX)) {
            String dir = PREFIX + "/" + tl + "/";
            for (Storage.StoredObject o : storage.list(PREFIX + "/" + tl)) {
                String fn = o.key().substring(dir.length());
                var m = ABANDONED.matcher(fn);
                if (fn.contains("/") || !m.matches() || !validName(m.group(1)) || !o.modified().isBefore(before)) {
                    continue;
                }
                if (!dryRun) {
                    storage.delete(o.key());
                }
                removed.add(o);
            }
        }
        return removed;
    }

    /** Deletes one archived file and its checksum. */
    public void delete(Entry e) throws IOException {
        storage.delete(keyFor(e.name()));
        storage.delete(sumKeyFor(e.name()));
    }

    /**
     * Creates the archive's directory (0700) when missing, for {@code pitr setup}, which
     * then gives it to the server's OS user.
     */
    public void prepare() throws IOException {
        if (storage instanceof LocalStorage local) {
            local.ensureDirectory(PREFIX);
        }
    }

    public static MessageDigest sha256() {
        return BackupVerifier.newSha256();
    }

    private static String abbrev(String hex) {
        return hex == null ? "?" : hex.substring(0, Math.min(12, hex.length()));
    }
}
