package dev.chronodr.restore;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
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
import dev.chronodr.crypto.OpenPgp;
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
            Optional<Path> zstd = source.method() == Compression.Method.ZSTD && !source.encrypted() ? locator.onPath("zstd") : Optional.empty();
            String actual;
            if (source.encrypted()) {
                actual = decryptInto(source, temp);
            } else if (zstd.isPresent()) {
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

    /**
     * An encrypted dump: decrypted and decompressed into the copy in one pass, with the stored
     * (encrypted) bytes hashed on the way for the manifest's SHA-256; read to the end, so the
     * message's integrity check (MDC) is checked too.
     */
    private static String decryptInto(RestoreSource source, Path temp) throws IOException {
        MessageDigest sha = BackupVerifier.newSha256();
        Files.createFile(temp, AtomicFile.privateFile());
        // The digest below the buffer: the OpenPGP reader marks and resets its start, which the buffer replays unhashed.
        try (InputStream stored = new BufferedInputStream(new DigestInputStream(Files.newInputStream(source.dump()), sha), 1 << 20);
             InputStream plain = OpenPgp.decrypt(stored, source.keys(), source.id() + "/" + source.dump().getFileName(),
                     source.manifest().encryption().recipients());
             OutputStream out = Files.newOutputStream(temp)) {
            InputStream unclosed = new FilterInputStream(plain) {
                @Override
                public void close() {
                    // the decompressor closes its input; the plaintext is drained and closed below
                }
            };
            try (InputStream in = Compression.decompress(source.method(), unclosed)) {
                in.transferTo(out);
            }
            plain.transferTo(OutputStream.nullOutputStream()); // to the MDC
            stored.transferTo(OutputStream.nullOutputStream()); // every stored byte is hashed
        } catch (ChronoException e) {
            if (e.exitCode() != dev.chronodr.core.ExitCode.CRITICAL) {
                throw e;
            }
            // Damaged: reported as any corrupt backup is, by its SHA-256 against the manifest, when that differs.
            String whole = SourceChecks.sha256(source.dump());
            if (whole.equals(source.manifest().file("dump").sha256())) {
                throw e;
            }
            return whole;
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    static void delete(Path temp) {
        try {
            Files.deleteIfExists(temp);
        } catch (IOException e) {
            log.warn("could not remove {}: {}", temp, e.getMessage());
        }
    }
}
