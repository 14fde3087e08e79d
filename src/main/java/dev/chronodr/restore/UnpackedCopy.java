package dev.chronodr.restore;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.BackupVerifier;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.Repository;

/** The verified, decompressed copy of a compressed custom archive that a parallel pg_restore reads. */
final class UnpackedCopy {
    private static final Logger log = LoggerFactory.getLogger(UnpackedCopy.class);

    private final ProcessRunner runner;
    private final ToolLocator locator;

    UnpackedCopy(ProcessRunner runner, ToolLocator locator) {
        this.runner = runner;
        this.locator = locator;
    }

    /**
     * Parallel restore needs a seekable, uncompressed archive. One read of the backup makes
     * it: the other files are checked against the manifest first, then the dump is hashed as
     * it is decompressed, and a copy whose hash differs is deleted before anything is
     * touched. The copy goes to the repository's private .partial area (tried: /dev/shm
     * was no faster than the page cache, and costs memory until the copy is gone).
     */
    RestoreSource make(RestoreSource source, Repository repo) {
        BackupManifest m = source.manifest();
        BackupManifest.FileEntry dumpEntry = m == null ? null : m.file("dump");
        if (m != null) {
            SourceChecks.checksums(source, f -> !f.role().equals("dump"));
        }
        Path dir = UnpackDir.choose(repo);
        Path temp = UnpackDir.file(dir, source.id());
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, AtomicFile.PRIVATE_DIR);
            Files.deleteIfExists(temp);
            Optional<Path> zstd = source.method() == Compression.Method.ZSTD ? locator.onPath("zstd") : Optional.empty();
            String actual;
            if (zstd.isPresent()) {
                // The zstd program decompresses about a third faster than zstd-jni (its assembly decoders);
                // it writes the copy into the private directory while this thread hashes the archive.
                ProcessSpec spec = ProcessSpec.of(zstd.get().toString(), "-q", "-d", "-o", temp.toString(),
                        source.dump().toString()).withTimeout(Duration.ofHours(24));
                var decompressed = CompletableFuture.supplyAsync(() -> runner.run(spec));
                String hashed = null;
                RuntimeException hashFailure = null;
                try {
                    hashed = SourceChecks.sha256(source.dump());
                } catch (RuntimeException e) {
                    hashFailure = e; // reported once zstd has stopped writing the copy
                }
                try {
                    decompressed.join();
                } catch (CompletionException e) {
                    Throwable why = e.getCause();
                    String detail = why instanceof ProcessFailedException pf ? pf.stderrTail().strip() : String.valueOf(why.getMessage());
                    throw new IOException(detail.isEmpty() ? "zstd failed" : detail, why);
                }
                if (hashFailure != null) {
                    throw hashFailure;
                }
                actual = hashed;
                Files.setPosixFilePermissions(temp, AtomicFile.PRIVATE_FILE);
            } else {
                MessageDigest sha = BackupVerifier.newSha256();
                Files.createFile(temp, AtomicFile.privateFile());
                Compression.unpack(source.method(), source.dump(), temp, sha);
                actual = HexFormat.of().formatHex(sha.digest());
            }
            if (dumpEntry != null) {
                if (!actual.equals(dumpEntry.sha256())) {
                    throw ChronoException.failed("backup " + source.id() + " is corrupt: " + dumpEntry.name() + " has SHA-256 " + actual
                            + ", the manifest says " + dumpEntry.sha256() + "; nothing was touched", "choose another backup (chrono-dr list)");
                }
            }
            return source.withUnpacked(temp);
        } catch (IOException | RuntimeException e) {
            delete(temp);
            if (e instanceof ChronoException c) {
                throw c;
            }
            boolean ourSide = e instanceof FileSystemException
                    || String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("no space left");
            if (!ourSide) {
                throw ChronoException.failed("backup " + source.id() + " is corrupt or truncated: " + e.getMessage() + "; nothing was touched",
                        "choose another backup");
            }
            throw ChronoException.failed("cannot decompress the archive for a parallel restore into " + dir + ": " + e.getMessage()
                    + "; nothing was touched", "free space there, or restore with --jobs 1 (streams without a temporary file)");
        }
    }

    static void delete(Path temp) {
        try {
            Files.deleteIfExists(temp);
        } catch (IOException e) {
            log.warn("could not remove {}: {}", temp, e.getMessage());
        }
    }
}
