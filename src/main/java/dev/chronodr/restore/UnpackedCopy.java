package dev.chronodr.restore;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.crypto.OpenPgp;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.BackupVerifier;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.Repository;

/**
 * The verified, decompressed copy of a compressed custom archive that a parallel pg_restore reads.
 * Two stages run side by side over one read of the stored dump: the first reads it and hashes every
 * byte (the manifest's SHA-256 is over the stored bytes), handing each chunk on; the second (the
 * zstd program, or in-process decryption and decompression) turns exactly those bytes into the copy.
 * The copy is written under a {@code .part} name and takes its final name only once the whole
 * dump has matched its SHA-256, so nothing that a killed or refused restore leaves can pass for a
 * copy; and nothing connects to the server before this returns.
 */
final class UnpackedCopy {
    private static final Logger log = LoggerFactory.getLogger(UnpackedCopy.class);
    /** Chunks of the stored dump: large enough that a chunk's hand-over costs nothing beside its hashing. */
    static final int CHUNK = 1 << 20;
    /** Chunks in flight between the stages (the second stage's backlog, at most 8 MiB of memory). */
    private static final int IN_FLIGHT = 8;

    private final ProcessRunner runner;
    private final ToolLocator locator;

    UnpackedCopy(ProcessRunner runner, ToolLocator locator) {
        this.runner = runner;
        this.locator = locator;
    }

    /** How long each stage took, for the log (and the benchmark, which reads it with -v). */
    record Timing(long storedBytes, long copyBytes, long readMillis, long hashMillis, long handOnMillis, long decompressMillis,
                  long totalMillis, String decompressor) {
        String describe() {
            return String.format(Locale.ROOT, "decompressed copy for pg_restore -j: %d stored bytes read in %d ms and hashed in %d ms"
                    + " (%d ms waiting to hand them on), %d bytes decompressed and written by %s in %d ms; %d ms in all",
                    storedBytes, readMillis, hashMillis, handOnMillis, copyBytes, decompressor, decompressMillis, totalMillis);
        }
    }

    /**
     * Parallel restore needs a seekable, uncompressed archive. One read of the backup makes it:
     * the other files are checked against the manifest first, then the dump is hashed as it is
     * decompressed, and a copy whose hash differs is deleted before anything is touched. The copy
     * goes to the repository's private .partial area (tried: /dev/shm was no faster than the page
     * cache, and costs memory until the copy is gone).
     */
    RestoreSource make(RestoreSource source, Repository repo) {
        BackupManifest m = source.manifest();
        BackupManifest.FileEntry dumpEntry = m == null ? null : m.file("dump");
        if (m != null) {
            SourceChecks.checksums(source, f -> !f.role().equals("dump"));
        }
        Path dir = UnpackDir.choose(repo);
        Path copy = UnpackDir.file(dir, source.id());
        Path part = UnpackDir.partial(copy);
        long started = System.nanoTime();
        Stored stored = new Stored(source.dump());
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, AtomicFile.PRIVATE_DIR);
            Files.deleteIfExists(part);
            Files.deleteIfExists(copy);
            Optional<Path> zstd = source.method() == Compression.Method.ZSTD && !source.encrypted() ? locator.onPath("zstd") : Optional.empty();
            long t = System.nanoTime();
            String decompressor;
            IOException failed = null;
            try {
                if (zstd.isPresent()) {
                    decompressor = "the zstd program";
                    byProgram(zstd.get(), stored, part);
                } else {
                    decompressor = source.encrypted() ? "chrono-dr (decrypted and decompressed)" : "chrono-dr";
                    inProcess(source, stored, part);
                }
            } catch (IOException e) {
                failed = e;
                decompressor = "-";
            }
            long decompressMillis = (System.nanoTime() - t) / 1_000_000;
            if (stored.readFailure != null) {
                throw ChronoException.failed(stored.readFailure.getMessage() + "; nothing was touched", "choose another backup");
            }
            if (failed != null && !stored.done) {
                throw failed;
            }
            // The first stage hashes the whole dump even when the second stopped early.
            String actual = stored.sha256();
            if (dumpEntry != null && !actual.equals(dumpEntry.sha256())) {
                throw ChronoException.failed("backup " + source.id() + " is corrupt: " + dumpEntry.name() + " has SHA-256 " + actual
                        + ", the manifest says " + dumpEntry.sha256() + "; nothing was touched", "choose another backup (chrono-dr list)");
            }
            if (failed != null) {
                throw failed;
            }
            Files.setPosixFilePermissions(part, AtomicFile.PRIVATE_FILE);
            Files.move(part, copy, StandardCopyOption.ATOMIC_MOVE);
            Timing timing = new Timing(stored.bytes, Files.size(copy), stored.readNanos / 1_000_000, stored.hashNanos / 1_000_000,
                    stored.handOnNanos / 1_000_000, decompressMillis, (System.nanoTime() - started) / 1_000_000, decompressor);
            log.debug("{}", timing.describe());
            return source.withUnpacked(copy);
        } catch (IOException | RuntimeException e) {
            delete(part);
            delete(copy);
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
     * The zstd program decompresses about a third faster than zstd-jni (its assembly decoders). It
     * reads the stored bytes from its stdin, fed by the first stage in ProcessRunner's stdin thread,
     * so what it decompresses is exactly what was hashed; if this JVM dies, its stdin ends, and zstd
     * stops and removes what it wrote.
     */
    private void byProgram(Path zstd, Stored stored, Path part) throws IOException {
        ProcessSpec spec = ProcessSpec.of(zstd.toString(), "-q", "-d", "-o", part.toString())
                .withStdin(stored::feedProcess).withTimeout(Duration.ofHours(24));
        try {
            runner.run(spec);
        } catch (ProcessFailedException e) {
            String detail = e.stderrTail() == null ? "" : e.stderrTail().strip();
            throw new IOException(detail.isEmpty() ? "zstd failed" : detail, e);
        }
        stored.rethrowReadFailure();
    }

    /**
     * In-process, the first stage runs on its own thread and this one decrypts (an encrypted
     * backup) and decompresses into the copy: the two cores each take a stage. An encrypted dump
     * is read to its end, so the message's integrity check (MDC) is checked too.
     */
    private static void inProcess(RestoreSource source, Stored stored, Path part) throws IOException {
        ChunkPipe pipe = new ChunkPipe();
        Thread first = new Thread(() -> stored.feedPipe(pipe), "unpack-hash");
        first.setDaemon(true);
        first.start();
        try (FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            if (source.encrypted()) {
                try (InputStream plain = OpenPgp.decrypt(new BufferedInputStream(pipe, CHUNK), source.keys(),
                        source.id() + "/" + source.dump().getFileName(), source.manifest().encryption().recipients())) {
                    InputStream unclosed = new FilterInputStream(plain) {
                        @Override
                        public void close() {
                            // the decompressor closes its input; the plaintext is drained and closed below
                        }
                    };
                    try (InputStream in = Compression.decompress(source.method(), unclosed)) {
                        transfer(in, out);
                    }
                    plain.transferTo(OutputStream.nullOutputStream()); // to the MDC
                }
                // closing the message closed the pipe: the first stage hashes what follows it, for the manifest's SHA-256
            } else {
                Compression.unpack(source.method(), pipe, out);
                if (pipe.read() != -1) {
                    throw new IOException("data after the end of the compressed stream");
                }
            }
        } catch (ChronoException e) {
            // A damaged encrypted dump: reported by its SHA-256 against the manifest when that differs.
            if (e.exitCode() != ExitCode.CRITICAL) {
                throw e;
            }
            pipe.close();
            join(first);
            if (!stored.sha256().equals(source.manifest().file("dump").sha256())) {
                return; // make() reports the mismatch
            }
            throw e;
        } finally {
            pipe.close(); // the first stage hashes on to the end without handing on
            join(first);
        }
        stored.rethrowReadFailure();
    }

    private static void transfer(InputStream in, FileChannel out) throws IOException {
        byte[] buf = new byte[CHUNK];
        for (int n; (n = in.read(buf)) > 0; ) {
            ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
            while (b.hasRemaining()) {
                out.write(b);
            }
        }
    }

    private static void join(Thread t) throws InterruptedIOException {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while hashing the dump");
        }
    }

    static void delete(Path temp) {
        try {
            Files.deleteIfExists(temp);
        } catch (IOException e) {
            log.warn("could not remove {}: {}", temp, e.getMessage());
        }
    }

    /**
     * The first stage: reads the stored dump once, in chunks, hashes every byte and hands each
     * chunk on. A second stage that stopped early (damaged data, a failed write) no longer takes
     * chunks, and the hashing goes on to the end regardless, so the SHA-256 is always the whole
     * file's.
     */
    private static final class Stored {
        private final Path file;
        private final MessageDigest sha = BackupVerifier.newSha256();
        private volatile boolean done;
        private volatile IOException readFailure;
        private String hex;
        long bytes;
        long readNanos;
        long hashNanos;
        long handOnNanos;

        Stored(Path file) {
            this.file = file;
        }

        /** Into the zstd program's stdin: a broken pipe means zstd stopped, which its exit code tells. */
        void feedProcess(OutputStream sink) throws IOException {
            feedTo(chunk -> {
                try {
                    sink.write(chunk.array(), 0, chunk.limit());
                    return true;
                } catch (IOException e) {
                    if (!ProcessRunner.closedByReader(e)) {
                        throw e;
                    }
                    return false;
                }
            });
            try {
                sink.close();
            } catch (IOException e) {
                if (!ProcessRunner.closedByReader(e)) {
                    throw e;
                }
            }
            if (readFailure != null) {
                throw readFailure; // zstd must not take a short read for the end of the dump
            }
        }

        /** Into the in-process second stage. */
        void feedPipe(ChunkPipe pipe) {
            try {
                feedTo(chunk -> pipe.put(chunk));
            } catch (IOException e) {
                // already recorded as readFailure
            } finally {
                pipe.end(readFailure);
            }
        }

        private interface Sink {
            boolean accept(ByteBuffer chunk) throws IOException;
        }

        private void feedTo(Sink sink) throws IOException {
            boolean handing = true;
            try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
                while (true) {
                    long t0 = System.nanoTime();
                    ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
                    while (chunk.hasRemaining() && in.read(chunk) > 0) {
                        // fill the chunk: fewer, larger hand-overs
                    }
                    long t1 = System.nanoTime();
                    chunk.flip();
                    if (!chunk.hasRemaining()) {
                        readNanos += t1 - t0;
                        break;
                    }
                    sha.update(chunk.array(), 0, chunk.limit());
                    long t2 = System.nanoTime();
                    bytes += chunk.limit();
                    if (handing) {
                        handing = sink.accept(chunk);
                    }
                    readNanos += t1 - t0;
                    hashNanos += t2 - t1;
                    handOnNanos += System.nanoTime() - t2;
                }
            } catch (IOException e) {
                readFailure = new IOException("cannot read " + file + ": " + e.getMessage(), e);
                throw readFailure;
            } finally {
                done = true;
            }
        }

        void rethrowReadFailure() throws IOException {
            if (readFailure != null) {
                throw readFailure;
            }
        }

        String sha256() throws IOException {
            rethrowReadFailure();
            if (!done) {
                throw new IllegalStateException("the dump was not read to its end");
            }
            if (hex == null) {
                hex = HexFormat.of().formatHex(sha.digest());
            }
            return hex;
        }
    }

    /**
     * Chunks from the first stage to the second, at most {@link #IN_FLIGHT} at a time. Once the
     * reader closes it, the writer's chunks are dropped instead of waited for.
     */
    static final class ChunkPipe extends InputStream implements ReadableByteChannel {
        private static final ByteBuffer END = ByteBuffer.allocate(0);
        private final BlockingQueue<ByteBuffer> queue = new ArrayBlockingQueue<>(IN_FLIGHT);
        private volatile boolean closed;
        private volatile IOException failure;
        private ByteBuffer current;
        private boolean ended;

        /** Writer: false once the reader has gone (the chunk is dropped). */
        boolean put(ByteBuffer chunk) throws InterruptedIOException {
            try {
                while (!closed) {
                    if (queue.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
                        return true;
                    }
                }
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while handing the dump on");
            }
        }

        /** Writer: the end of the dump, or why it could not be read to its end. */
        void end(IOException why) {
            failure = why;
            try {
                while (!closed && !queue.offer(END, 100, TimeUnit.MILLISECONDS)) {
                    // the reader is still busy
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private ByteBuffer next() throws IOException {
            while (!ended && (current == null || !current.hasRemaining())) {
                if (closed) {
                    throw new IOException("read after the copy's input was closed"); // never waits for a first stage that has gone
                }
                ByteBuffer b;
                try {
                    b = queue.poll(100, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while reading the dump");
                }
                if (b != null) {
                    current = b;
                    ended = b == END;
                }
            }
            if (ended) {
                if (failure != null) {
                    throw failure;
                }
                return null;
            }
            return current;
        }

        @Override
        public int read() throws IOException {
            ByteBuffer b = next();
            return b == null ? -1 : b.get() & 0xff;
        }

        @Override
        public int read(byte[] dst, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            ByteBuffer b = next();
            if (b == null) {
                return -1;
            }
            int n = Math.min(len, b.remaining());
            b.get(dst, off, n);
            return n;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            ByteBuffer b = next();
            if (b == null) {
                return -1;
            }
            int n = Math.min(dst.remaining(), b.remaining());
            dst.put(dst.position(), b, b.position(), n);
            dst.position(dst.position() + n);
            b.position(b.position() + n);
            return n;
        }

        @Override
        public boolean isOpen() {
            return !closed;
        }

        @Override
        public void close() {
            closed = true;
            queue.clear();
        }
    }
}
