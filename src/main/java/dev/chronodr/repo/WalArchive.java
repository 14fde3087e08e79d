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
import dev.chronodr.crypto.OpenPgp;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.crypto.SecretKeys;

/**
 * The WAL archive inside a repository:
 * <pre>
 *   REPO/wal/TIMELINE/NAME.zst      the file, zstd level 1 (readable with `zstd -dc`)
 *   REPO/wal/TIMELINE/NAME.zst.gpg  or, encrypted: the same zstd frame in an OpenPGP message (`gpg --decrypt | zstd -dc`)
 *   REPO/wal/TIMELINE/NAME.sha256   SHA-256 of the uncompressed content, hex; for an encrypted file first the
 *                                   SHA-256 of the stored bytes (so the archive is checked without the key),
 *                                   then the content's, then one "recipient" line per key it is encrypted to
 * </pre>
 * One archive may hold both kinds (encryption turned on later): readers take whichever is there.
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
    /** An encrypted file's suffix, as logical backups name theirs (database.dump.zst.gpg). */
    static final String ENCRYPTED_SUFFIX = ".zst.gpg";
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

        /** Stored as an OpenPGP message ({@code NAME.zst.gpg}). */
        public boolean encrypted() {
            return file != null && file.endsWith(ENCRYPTED_SUFFIX);
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

    private static String encryptedKeyFor(String name) {
        return PREFIX + "/" + name.substring(0, 8) + "/" + name + ENCRYPTED_SUFFIX;
    }

    /** The key a file is stored under, encrypted or not; empty when it is not archived. */
    private Optional<String> storedKey(String name) throws IOException {
        if (storage.exists(encryptedKeyFor(name))) {
            return Optional.of(encryptedKeyFor(name));
        }
        return storage.exists(keyFor(name)) ? Optional.of(keyFor(name)) : Optional.empty();
    }

    /** The key of an archived file (for copies between repositories); empty when it is not archived. */
    public Optional<String> dataKey(String name) throws IOException {
        return storedKey(requireValid(name));
    }

    /** The key of a file's checksum sidecar. */
    public static String sumKey(String name) {
        return sumKeyFor(requireValid(name));
    }

    private static String sumKeyFor(String name) {
        return PREFIX + "/" + name.substring(0, 8) + "/" + name + SUM_SUFFIX;
    }

    private String fileFor(String name) {
        return where + "/" + name.substring(0, 8) + "/" + name + SUFFIX;
    }

    private String fileOf(String key) {
        return where + key.substring(PREFIX.length());
    }

    public boolean contains(String name) {
        try {
            return storedKey(requireValid(name)).isPresent();
        } catch (IOException e) {
            throw ChronoException.failed("cannot read the WAL archive " + where + ": " + e.getMessage(), null);
        }
    }

    private static final long IN_MEMORY = 16L << 20;

    /** Archives one file from the server's pg_wal. */
    public Pushed push(Path source) {
        return push(source, null);
    }

    /**
     * Archives one file from the server's pg_wal, encrypted to {@code recipients} after
     * compression (null: stored as zstd only). A file already archived, either way, with the
     * same content counts as archived: the server retries a push it did not see end.
     */
    public Pushed push(Path source, Recipients recipients) {
        String name = requireValid(source.getFileName().toString());
        requireFile(source);
        try {
            Optional<String> existing = storedKey(name);
            if (existing.isPresent()) {
                return compareExisting(name, source, fileOf(existing.get()));
            }
            try (Prepared p = prepare(name, source, recipients)) {
                storage.write(sumKeyFor(name), out -> out.write(p.sums()));
                Storage.Written stored;
                try {
                    stored = storage.create(p.key(), p.data());
                } catch (FileAlreadyExistsException raced) {
                    // a concurrent push of the same name got there first: never overwritten
                    return compareExisting(name, source, fileOf(p.key()));
                }
                return new Pushed(name, fileOf(p.key()), false, p.raw(), stored.size(), p.content());
            }
        } catch (IOException e) {
            throw ChronoException.failed("wal-push " + name + ": " + e.getMessage(), "check free space and permissions of " + where);
        }
    }

    /**
     * Stores a newer version of a segment still being received ({@code NAME.partial}) over the
     * archived one, with no moment at which the archive holds none, nor one that its sidecar
     * does not vouch for: the sidecar first lists both versions, then the data is replaced
     * (an atomic rename, or one PUT), the other kind removed when encryption was turned on or
     * off, and last the sidecar lists the new version alone. A reader that read the old
     * sidecar and then the new data reads both again ({@link #fetch}). Only partial segments
     * are ever replaced: every other file is written once. {@code source} may still be
     * growing (pg_receivewal writes it): it is read once, or copied first when too large to
     * hold in memory, so the checksum and the stored bytes are of one version.
     */
    public Pushed replacePartial(Path source, Recipients recipients) {
        String name = requireValid(source.getFileName().toString());
        if (!isPartialSegmentName(name)) {
            throw new IllegalArgumentException(name + " is not a partial segment: only those are replaced");
        }
        requireFile(source);
        Path snapshot = null;
        try {
            Path from = source;
            if (Files.size(source) > IN_MEMORY) {
                // read more than once (checksum, then compression): a still-growing file is copied first
                snapshot = source.resolveSibling("." + name + ".snapshot");
                Files.copy(source, snapshot, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                from = snapshot;
            }
            try (Prepared p = prepare(name, from, recipients)) {
                Storage.Written stored = install(name, p.key(), p.data(), WalSums.withWritten(p.sums(), p.written()));
                return new Pushed(name, fileOf(p.key()), false, p.raw(), stored.size(), p.content());
            }
        } catch (IOException e) {
            throw ChronoException.failed("wal-receive " + name + ": " + e.getMessage(), "check free space and permissions of " + where);
        } finally {
            if (snapshot != null) {
                try {
                    Files.deleteIfExists(snapshot);
                } catch (IOException e) {
                    // a leftover hidden copy in the receiver's own spool, replaced by the next one
                }
            }
        }
    }

    /**
     * Puts a version of a partial segment in place with no moment without one: the sidecar
     * vouching for it and the version there now, its data under {@code key}, the other kind
     * removed, the sidecar vouching for it alone. Also how a copy between repositories
     * replaces one ({@link RepositoryCopy}).
     */
    Storage.Written install(String name, String key, AtomicFile.Content data, byte[] sums) throws IOException {
        Optional<String> existing = storedKey(name);
        String sumKey = sumKeyFor(name);
        byte[] old = existing.isPresent() ? sidecarBytes(name) : new byte[0];
        storage.write(sumKey, out -> out.write(WalSums.both(sums, old)));
        Storage.Written stored = storage.write(key, data);
        if (existing.isPresent() && !existing.get().equals(key)) {
            storage.delete(existing.get());
        }
        if (old.length > 0) {
            storage.write(sumKey, out -> out.write(sums));
        }
        return stored;
    }

    private static void requireFile(Path source) {
        if (!Files.isRegularFile(source)) {
            throw ChronoException.failed("wal-push: " + source + " does not exist or is not a file", "archive_command must pass %p");
        }
    }

    private byte[] sidecarBytes(String name) throws IOException {
        try (InputStream in = storage.read(sumKeyFor(name))) {
            return in.readNBytes(64 << 10);
        } catch (NoSuchFileException e) {
            return new byte[0];
        }
    }

    /**
     * A file made ready to store: the key it goes under, how its bytes are written, its
     * sidecar, and the content's SHA-256. A spill file (ciphertext of a large segment) is
     * removed on close.
     */
    private record Prepared(String key, AtomicFile.Content data, byte[] sums, long raw, String content, Path spill, long written)
            implements AutoCloseable {
        @Override
        public void close() throws IOException {
            if (spill != null) {
                Files.deleteIfExists(spill);
            }
        }
    }

    private Prepared prepare(String name, Path source, Recipients recipients) throws IOException {
        long raw = Files.size(source);
        if (recipients != null) {
            return prepareEncrypted(name, source, raw, recipients);
        }
        Packed packed = raw <= IN_MEMORY ? compressInMemory(source) : new Packed(null, shaOf(source), -1);
        byte[] data = packed.data();
        return new Prepared(keyFor(name), data != null ? out -> out.write(data) : out -> compressStreaming(source, out),
                WalSums.plain(name, packed.sha256()), raw, packed.sha256(), null, packed.written());
    }

    /**
     * The ciphertext is made first (in memory for a segment of the default size, else in a
     * private temp file: ciphertext only, never the plain segment), because the sidecar,
     * stored before the data file, holds the SHA-256 of the stored bytes.
     */
    private Prepared prepareEncrypted(String name, Path source, long raw, Recipients recipients) throws IOException {
        Path spill = null;
        boolean done = false;
        try {
            String content;
            byte[] cipher = null;
            long written = -1;
            MessageDigest storedSha = sha256();
            if (raw <= IN_MEMORY) {
                Packed packed = compressInMemory(source);
                content = packed.sha256();
                written = packed.written();
                java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream(packed.data().length + 4096);
                try (OutputStream enc = OpenPgp.encrypt(new java.security.DigestOutputStream(buf, storedSha), recipients)) {
                    enc.write(packed.data());
                }
                cipher = buf.toByteArray();
            } else {
                content = shaOf(source);
                spill = Files.createTempFile("chrono-dr-wal-", ".gpg"); // 0600
                try (OutputStream file = new java.security.DigestOutputStream(
                        new BufferedOutputStream(Files.newOutputStream(spill), 1 << 20), storedSha)) {
                    try (OutputStream enc = OpenPgp.encrypt(nonClosing(file), recipients)) {
                        compressStreaming(source, enc);
                    }
                }
            }
            String stored = HexFormat.of().formatHex(storedSha.digest());
            byte[] sums = WalSums.encrypted(name, name + ENCRYPTED_SUFFIX, stored, content, recipients.list());
            byte[] data = cipher;
            Path file = spill;
            Prepared p = new Prepared(encryptedKeyFor(name), data != null ? out -> out.write(data) : out -> {
                try (InputStream in = Files.newInputStream(file)) {
                    in.transferTo(out);
                }
            }, sums, raw, content, spill, written);
            done = true;
            return p;
        } finally {
            if (!done && spill != null) {
                Files.deleteIfExists(spill);
            }
        }
    }

    /** A segment compressed in memory (null: too large, streamed) and the SHA-256 of its content. */
    private record Packed(byte[] data, String sha256, long written) {
    }

    /** Past the last non-zero byte, rounded up to 8 (WAL records are MAXALIGNed): how far a zero-padded partial segment holds WAL. */
    static long writtenBytes(byte[] content) {
        int last = content.length - 1;
        while (last >= 0 && content[last] == 0) {
            last--;
        }
        return last < 0 ? 0 : Math.min(content.length, ((last + 1L + 7) / 8) * 8);
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
        return new Packed(packed, sum.join(), writtenBytes(data));
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
        Optional<String> key = storedKey(name);
        return key.isEmpty() ? 0L : storage.info(key.get()).map(Storage.StoredObject::size).orElse(0L);
    }

    private WalSums sums(String name) throws IOException {
        String sumKey = sumKeyFor(name);
        if (!storage.exists(sumKey)) {
            return WalSums.none();
        }
        try (InputStream in = storage.read(sumKey)) {
            return WalSums.parse(new String(in.readNBytes(64 << 10), StandardCharsets.UTF_8), name, ENCRYPTED_SUFFIX);
        }
    }

    /** The recorded checksum of the content, or (sidecar lost) the checksum of the decompressed content. */
    private String storedSha(String name) throws IOException {
        WalSums sums = sums(name);
        if (sums.content() != null) {
            return sums.content();
        }
        Optional<String> key = storedKey(name);
        if (key.isPresent() && key.get().endsWith(ENCRYPTED_SUFFIX)) {
            throw ChronoException.failed(name + " is archived encrypted in " + fileOf(key.get())
                    + " and its checksum file is missing: its content cannot be compared without the key", "check the archive");
        }
        MessageDigest sha = sha256();
        try (InputStream in = new DigestInputStream(new ZstdInputStream(storage.read(keyFor(name))), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * How far an archived partial segment holds WAL, in bytes from the segment's start, as
     * its sidecar records it (wal-receive writes it); empty when not recorded (older
     * archives, segments larger than 16 MB) or not archived.
     */
    public Optional<Long> recordedWrittenBytes(String name) {
        requireValid(name);
        try {
            long w = sums(name).written();
            return w >= 0 ? Optional.of(w) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * The SHA-256 recorded for an archived file, or empty when the archive does not have it:
     * what wal-fetch's look-ahead checks a spooled copy against before handing it over.
     */
    public Optional<String> recordedSha256(String name) {
        requireValid(name);
        try {
            return storedKey(name).isPresent() ? Optional.of(storedSha(name)) : Optional.empty();
        } catch (IOException e) {
            throw ChronoException.failed("cannot read the WAL archive " + where + ": " + e.getMessage(), null);
        }
    }

    /**
     * Restores one file to {@code dest}, checking its SHA-256; empty when the archive does
     * not have it (normal at the end of recovery). An encrypted file needs the key.
     */
    public Optional<Long> fetch(String name, Path dest) {
        return fetch(name, dest, () -> null);
    }

    /**
     * The same; {@code keys} is asked for only when the file is encrypted (an archive of
     * plain segments, and the names recovery asks for that are not archived, never unlock a
     * key). It may answer null (no key given): an encrypted file then fails with exit 3
     * naming the key it needs, as does one for another key. dest appears whole and checked,
     * or not at all.
     */
    public Optional<Long> fetch(String name, Path dest, java.util.function.Supplier<SecretKeys> keys) {
        return fetchChecked(name, dest, keys).map(Fetched::bytes);
    }

    /** What a fetch wrote: its length, and the SHA-256 of exactly those bytes, which the sidecar vouches for. */
    public record Fetched(long bytes, String sha256) {
    }

    /** {@link #fetch}, saying also the SHA-256 the bytes written were checked to have (this name's, never another's). */
    public Optional<Fetched> fetchChecked(String name, Path dest, java.util.function.Supplier<SecretKeys> keys) {
        requireValid(name);
        for (int attempt = 1; ; attempt++) {
            try {
                return fetchOnce(name, dest, keys);
            } catch (ChronoException e) {
                if (!replacedMeanwhile(name, e, attempt)) {
                    throw e;
                }
            }
        }
    }

    private static final int PARTIAL_ATTEMPTS = 3;

    /**
     * A partial segment being replaced (wal-receive, every second) can be read as the old
     * sidecar and then the new data, or have its other kind removed under the reader: that
     * reads again, never more than {@value #PARTIAL_ATTEMPTS} times in all, so damage is still
     * reported at once and a real one never loops.
     */
    private static boolean replacedMeanwhile(String name, ChronoException e, int attempt) {
        return isPartialSegmentName(name) && attempt < PARTIAL_ATTEMPTS
                && (e.exitCode() == ExitCode.CRITICAL || e.exitCode() == ExitCode.FAILED && e.getCause() instanceof NoSuchFileException);
    }

    private Optional<Fetched> fetchOnce(String name, Path dest, java.util.function.Supplier<SecretKeys> keys) {
        String source = fileFor(name);
        try {
            Optional<String> key = storedKey(name);
            if (key.isEmpty()) {
                return Optional.empty();
            }
            source = fileOf(key.get());
            String file = source;
            Fetched[] got = {null};
            // dest appears whole and checked, or not at all: the server must never replay a torn or corrupt segment
            AtomicFile.write(dest, out -> got[0] = read(name, key.get(), file, out, keys));
            return Optional.of(got[0]);
        } catch (NoSuchFileException e) {
            if (!contains(name)) {
                return Optional.empty();
            }
            throw ChronoException.failed("wal-fetch " + name + ": " + e.getMessage(), null, e);
        } catch (IOException e) {
            throw ChronoException.failed("wal-fetch " + name + ": " + e.getMessage(), "check " + dest.getParent() + " and " + source);
        }
    }

    /**
     * Checks one archived file against its sidecar without writing it anywhere: an encrypted
     * one by the SHA-256 of its stored bytes, and with {@code keys} also decrypted and its
     * content checked; a plain one decompressed and its content checked. Empty when sound (or
     * not archived), else the problem.
     */
    public Optional<String> check(String name, SecretKeys keys) {
        requireValid(name);
        for (int attempt = 1; ; attempt++) {
            Optional<String> problem;
            try {
                problem = checkOnce(name, keys);
            } catch (ChronoException e) {
                if (replacedMeanwhile(name, e, attempt)) {
                    continue;
                }
                throw e;
            }
            if (problem.isEmpty() || !isPartialSegmentName(name) || attempt >= PARTIAL_ATTEMPTS) {
                return problem;
            }
        }
    }

    private Optional<String> checkOnce(String name, SecretKeys keys) {
        try {
            Optional<String> key = storedKey(name);
            if (key.isEmpty()) {
                return Optional.empty();
            }
            String file = fileOf(key.get());
            if (key.get().endsWith(ENCRYPTED_SUFFIX) && keys == null) {
                WalSums sums = sums(name);
                MessageDigest sha = sha256();
                try (InputStream in = new DigestInputStream(storage.read(key.get()), sha)) {
                    in.transferTo(OutputStream.nullOutputStream());
                }
                String got = HexFormat.of().formatHex(sha.digest());
                if (sums.storeds().isEmpty()) {
                    return Optional.of("WAL file " + name + ": no checksum of its stored bytes is recorded (" + sumKeyFor(name) + " missing or damaged)");
                }
                return sums.vouchesForStored(got) ? Optional.empty()
                        : Optional.of("WAL file " + name + " in " + file + " is corrupt (sha256 of the stored bytes " + abbrev(got)
                        + ", recorded " + abbrev(sums.stored()) + ")");
            }
            read(name, key.get(), file, OutputStream.nullOutputStream(), () -> keys);
            return Optional.empty();
        } catch (ChronoException e) {
            if (e.exitCode() == ExitCode.CRITICAL) {
                return Optional.of(e.getMessage());
            }
            throw e;
        } catch (NoSuchFileException e) {
            if (!contains(name)) {
                return Optional.empty();
            }
            throw ChronoException.failed("cannot read " + name + " in " + where + ": " + e.getMessage(), null, e);
        } catch (IOException e) {
            throw ChronoException.failed("cannot read " + name + " in " + where + ": " + e.getMessage(), null);
        }
    }

    /** The content of one stored file into {@code out}, checked against its sidecar (exit 2 when it does not match). */
    private Fetched read(String name, String key, String file, OutputStream out, java.util.function.Supplier<SecretKeys> keys) throws IOException {
        WalSums sums = sums(name);
        List<String> expected = !sums.contents().isEmpty() ? sums.contents() : List.of(storedSha(name));
        MessageDigest sha = sha256();
        long n;
        if (!key.endsWith(ENCRYPTED_SUFFIX)) {
            Sink sink = new Sink(out);
            try (InputStream in = new DigestInputStream(new ZstdInputStream(new BufferedInputStream(storage.read(key), 1 << 16)), sha)) {
                n = in.transferTo(sink);
            } catch (com.github.luben.zstd.ZstdIOException e) {
                if (sink.failed) {
                    throw e;
                }
                throw corrupt(name, file, "it does not decompress: " + e.getMessage(), e); // damaged bytes, not an I/O fault
            }
        } else {
            if (sums.content() == null) {
                throw corrupt(name, file, "its checksum file " + sumKeyFor(name) + " is missing", null);
            }
            SecretKeys k = keys.get();
            MessageDigest storedSha = sha256();
            Sink sink = new Sink(out);
            // the digest under the buffer: the OpenPGP decoder marks and resets its stream, which must not count twice
            try (InputStream stored = new BufferedInputStream(new DigestInputStream(storage.read(key), storedSha), 1 << 16)) {
                try {
                    // closing the decryption must not close the stored stream: it is read to its end below
                    InputStream plain = OpenPgp.decrypt(new java.io.FilterInputStream(stored) {
                        @Override
                        public void close() {
                        }
                    }, k, file, sums.recipients());
                    try (InputStream in = new DigestInputStream(new ZstdInputStream(plain), sha)) {
                        n = in.transferTo(sink);
                        plain.transferTo(OutputStream.nullOutputStream()); // to the integrity check (MDC) at its end
                    }
                    stored.transferTo(OutputStream.nullOutputStream());
                } catch (ChronoException | IOException e) {
                    if (sink.failed || e instanceof ChronoException c && c.exitCode() == ExitCode.UNKNOWN) {
                        throw e; // dest not writable, or no key for it: not a statement about the stored bytes
                    }
                    stored.transferTo(OutputStream.nullOutputStream());
                    String got = HexFormat.of().formatHex(storedSha.digest());
                    if (!sums.storeds().isEmpty() && !sums.vouchesForStored(got)) {
                        throw corrupt(name, file, "sha256 of the stored bytes " + abbrev(got) + ", recorded " + abbrev(sums.stored()), e);
                    }
                    if (e instanceof ChronoException c) {
                        throw c;
                    }
                    throw corrupt(name, file, e.getMessage(), e);
                }
            }
            String got = HexFormat.of().formatHex(storedSha.digest());
            if (!sums.storeds().isEmpty() && !sums.vouchesForStored(got)) {
                throw corrupt(name, file, "sha256 of the stored bytes " + abbrev(got) + ", recorded " + abbrev(sums.stored()), null);
            }
        }
        String got = HexFormat.of().formatHex(sha.digest());
        if (!expected.contains(got)) {
            throw corrupt(name, file, "sha256 " + abbrev(got) + ", recorded " + abbrev(expected.get(0)), null);
        }
        return new Fetched(n, got);
    }

    /** Where the content goes, remembering whether a write failed (a full disk is not a damaged archive). */
    private static final class Sink extends java.io.FilterOutputStream {
        boolean failed;

        Sink(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                out.write(b, off, len);
            } catch (IOException | RuntimeException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public void close() {
        }
    }

    private static ChronoException corrupt(String name, String file, String why, Exception cause) {
        return new ChronoException(ExitCode.CRITICAL, "WAL file " + name + " in " + file + " is corrupt (" + why + ")",
                "the archive copy is damaged; recovery cannot pass this point", cause);
    }

    /** Everything archived, sorted by timeline then name. */
    public List<Entry> list() {
        List<Entry> out = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        try {
            for (String tl : storage.children(PREFIX)) {
                String dir = PREFIX + "/" + tl + "/";
                for (Storage.StoredObject o : storage.list(PREFIX + "/" + tl)) {
                    String fn = o.key().substring(dir.length());
                    String suffix = fn.endsWith(ENCRYPTED_SUFFIX) ? ENCRYPTED_SUFFIX : fn.endsWith(SUFFIX) ? SUFFIX : null;
                    if (fn.contains("/") || suffix == null) {
                        continue;
                    }
                    String name = fn.substring(0, fn.length() - suffix.length());
                    // both kinds for one name only after a race of two pushes: one entry, the encrypted one (which fetch reads)
                    if (validName(name) && seen.add(tl + "/" + name)) {
                        out.add(new Entry(name, tl, where + "/" + tl + "/" + fn, o.size(), o.modified()));
                    } else if (validName(name) && suffix.equals(ENCRYPTED_SUFFIX)) {
                        out.removeIf(e -> e.name().equals(name));
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
    private static final Pattern ABANDONED = Pattern.compile("\\.(.+)\\.(zst|zst\\.gpg|sha256)\\.[0-9]+\\.tmp");

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
        storage.delete(encryptedKeyFor(e.name()));
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
