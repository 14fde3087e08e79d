package dev.chronodr.pitr;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdOutputStream;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.repo.Repository;

/**
 * The WAL archive inside a repository:
 * <pre>
 *   REPO/wal/TIMELINE/NAME.zst      the file, zstd level 1 (readable with `zstd -dc`)
 *   REPO/wal/TIMELINE/NAME.sha256   SHA-256 of the uncompressed content, hex
 * </pre>
 * TIMELINE is the first 8 hex digits of the name, so a timeline's segments sit together
 * and a listing stays short. The sidecar is renamed into place before the data file, so a
 * present {@code .zst} always has its checksum; the {@code .zst} alone marks "archived".
 * Both are written under a temporary name in the same directory, fsynced, renamed, and the
 * directory fsynced: the server deletes its segment as soon as we return 0.
 */
public final class WalArchive {
    /** Segments, partial segments, backup history files and timeline history files. */
    private static final Pattern NAME = Pattern.compile(
            "[0-9A-F]{24}(\\.partial|\\.[0-9A-F]{8}\\.backup)?|[0-9A-F]{8}\\.history");
    private static final Pattern SEGMENT = Pattern.compile("[0-9A-F]{24}");
    static final String SUFFIX = ".zst";
    static final String SUM_SUFFIX = ".sha256";

    private final Path root;

    public WalArchive(Path repo) {
        this.root = repo.toAbsolutePath().normalize().resolve("wal");
    }

    public Path root() {
        return root;
    }

    /** Outcome of a push: stored now, or already there with the same content. */
    public record Pushed(String name, Path file, boolean alreadyArchived, long bytes, long storedBytes, String sha256) {
    }

    /** One archived file, as listed. */
    public record Entry(String name, String timeline, Path file, long storedBytes, Instant archivedAt) {
        public boolean isSegment() {
            return SEGMENT.matcher(name).matches();
        }
    }

    /** A WAL segment's name (not a history or backup file). */
    public static boolean isSegmentName(String name) {
        return name != null && SEGMENT.matcher(name).matches();
    }

    public static boolean validName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    static String requireValid(String name) {
        if (!validName(name)) {
            throw ChronoException.usage("'" + name + "' is not a WAL file name",
                    "expected a segment (24 hex digits), NAME.partial, NAME.XXXXXXXX.backup or TTTTTTTT.history");
        }
        return name;
    }

    public Path fileFor(String name) {
        return root.resolve(name.substring(0, 8)).resolve(name + SUFFIX);
    }

    private Path sumFor(String name) {
        return root.resolve(name.substring(0, 8)).resolve(name + SUM_SUFFIX);
    }

    public boolean contains(String name) {
        return Files.isRegularFile(fileFor(requireValid(name)));
    }

    private static final long IN_MEMORY = 16L << 20;

    /** Archives one file from the server's pg_wal. */
    public Pushed push(Path source) {
        String name = requireValid(source.getFileName().toString());
        if (!Files.isRegularFile(source)) {
            throw ChronoException.failed("wal-push: " + source + " does not exist or is not a file", "archive_command must pass %p");
        }
        Path dir = fileFor(name).getParent();
        Path target = fileFor(name);
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(Repository.DIR_MODE));
            }
            if (Files.exists(target)) {
                return compareExisting(name, source, target);
            }
            Path tmp = dir.resolve("." + name + ".tmp-" + ProcessHandle.current().pid());
            Path sumTmp = dir.resolve("." + name + ".sha256.tmp-" + ProcessHandle.current().pid());
            long raw = Files.size(source);
            String hex = raw <= IN_MEMORY ? compressInMemory(source, tmp) : compressStreaming(source, tmp);
            Files.writeString(sumTmp, hex + "  " + name + "\n", StandardCharsets.US_ASCII);
            Repository.fsync(tmp);
            Repository.fsync(sumTmp);
            Files.move(sumTmp, sumFor(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try {
                // link() fails when the name exists: a concurrent push of the same name cannot be overwritten.
                Files.createLink(target, tmp);
                Files.delete(tmp);
            } catch (FileAlreadyExistsException raced) {
                Files.deleteIfExists(tmp);
                return compareExisting(name, source, target);
            } catch (UnsupportedOperationException | IOException noLinks) {
                if (Files.exists(target)) {
                    Files.deleteIfExists(tmp);
                    return compareExisting(name, source, target);
                }
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            }
            Repository.fsync(dir);
            Repository.fsync(root);
            return new Pushed(name, target, false, raw, Files.size(target), hex);
        } catch (IOException e) {
            throw ChronoException.failed("wal-push " + name + ": " + e.getMessage(), "check free space and permissions of " + root);
        }
    }

    /**
     * A segment of the default 16 MB (or smaller) is read once into memory: the checksum is computed on a
     * second thread while zstd compresses it in one call (a third of wal-push's time
     * against the 16 KB stream). Larger segments (initdb --wal-segsize up to 1 GB) stream.
     */
    private static String compressInMemory(Path source, Path tmp) throws IOException {
        byte[] data = Files.readAllBytes(source);
        CompletableFuture<String> sum = CompletableFuture.supplyAsync(() -> HexFormat.of().formatHex(sha256().digest(data)));
        byte[] packed;
        try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
            packed = ctx.setLevel(1).setChecksum(true).compress(data);
        }
        createPrivate(tmp);
        Files.write(tmp, packed, StandardOpenOption.WRITE);
        return sum.join();
    }

    private static String compressStreaming(Path source, Path tmp) throws IOException {
        MessageDigest sha = sha256();
        createPrivate(tmp);
        try (InputStream in = new DigestInputStream(new BufferedInputStream(Files.newInputStream(source), 1 << 20), sha);
             OutputStream fileOut = Files.newOutputStream(tmp, StandardOpenOption.WRITE);
             ZstdOutputStream z = new ZstdOutputStream(new BufferedOutputStream(fileOut, 1 << 20), 1)) {
            z.setChecksum(true);
            in.transferTo(z);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** A leftover of a killed push by the same pid is replaced; the file is 0600 from its first byte. */
    private static void createPrivate(Path tmp) throws IOException {
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(Repository.FILE_MODE));
    }

    private Pushed compareExisting(String name, Path source, Path target) throws IOException {
        String have = storedSha(name, target);
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
        return new Pushed(name, target, true, raw, Files.size(target), hex);
    }

    /** The recorded checksum, or (sidecar lost) the checksum of the decompressed content. */
    private String storedSha(String name, Path target) throws IOException {
        Path sum = sumFor(name);
        if (Files.isRegularFile(sum)) {
            String s = Files.readString(sum, StandardCharsets.US_ASCII).strip();
            int sp = s.indexOf(' ');
            return sp > 0 ? s.substring(0, sp) : s;
        }
        MessageDigest sha = sha256();
        try (InputStream in = new DigestInputStream(new ZstdInputStream(Files.newInputStream(target)), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * Restores one file to {@code dest}, checking its SHA-256; empty when the archive does
     * not have it (normal at the end of recovery).
     */
    public Optional<Long> fetch(String name, Path dest) {
        requireValid(name);
        Path source = fileFor(name);
        Path tmp = dest.resolveSibling("." + dest.getFileName() + ".chrono-dr-tmp");
        try {
            String expected = storedSha(name, source);
            MessageDigest sha = sha256();
            long n;
            try (InputStream in = new DigestInputStream(new ZstdInputStream(new BufferedInputStream(Files.newInputStream(source), 1 << 16)), sha);
                 OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp, StandardOpenOption.CREATE,
                         StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE), 1 << 16)) {
                n = in.transferTo(out);
            }
            String got = HexFormat.of().formatHex(sha.digest());
            if (!got.equals(expected)) {
                Files.deleteIfExists(tmp);
                throw new ChronoException(ExitCode.CRITICAL, "wal-fetch: " + name + " in " + source + " is corrupt (sha256 "
                        + abbrev(got) + ", recorded " + abbrev(expected) + ")", "the archive copy is damaged; recovery cannot pass this point");
            }
            Repository.fsync(tmp);
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return Optional.of(n);
        } catch (NoSuchFileException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // nothing was written
            }
            if (!Files.exists(source)) {
                return Optional.empty();
            }
            throw ChronoException.failed("wal-fetch " + name + ": " + e.getMessage(), null);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort
            }
            throw ChronoException.failed("wal-fetch " + name + ": " + e.getMessage(), "check " + dest.getParent() + " and " + source);
        }
    }

    /** Everything archived, sorted by timeline then name. */
    public List<Entry> list() {
        List<Entry> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> tls = Files.newDirectoryStream(root)) {
            for (Path tl : tls) {
                if (!Files.isDirectory(tl)) {
                    continue;
                }
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(tl, "*" + SUFFIX)) {
                    for (Path f : ds) {
                        String fn = f.getFileName().toString();
                        String name = fn.substring(0, fn.length() - SUFFIX.length());
                        if (validName(name)) {
                            out.add(new Entry(name, tl.getFileName().toString(), f, Files.size(f),
                                    Files.getLastModifiedTime(f).toInstant()));
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot list the WAL archive " + root + ": " + e.getMessage(), null);
        }
        out.sort(java.util.Comparator.comparing(Entry::timeline).thenComparing(Entry::name));
        return out;
    }

    /** Deletes one archived file and its checksum. */
    public void delete(Entry e) throws IOException {
        Files.deleteIfExists(e.file());
        Files.deleteIfExists(sumFor(e.name()));
    }

    static MessageDigest sha256() {
        return dev.chronodr.repo.BackupVerifier.newSha256();
    }

    private static String abbrev(String hex) {
        return hex == null ? "?" : hex.substring(0, Math.min(12, hex.length()));
    }
}
