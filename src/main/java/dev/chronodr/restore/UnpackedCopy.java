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
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import com.github.luben.zstd.ZstdDecompressCtx;

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
    /** The largest frame, stored or decompressed, that the side-by-side path takes (backups write 8 MiB ones). */
    static final long MAX_FRAME = 16L << 20;
    /**
     * Threads decompressing frames at most: each holds two frames' buffers (direct memory, which
     * the launcher's heap limit also bounds), and four make the copy a small part of any restore.
     */
    static final int MAX_THREADS = 4;
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
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, AtomicFile.PRIVATE_DIR);
            Files.deleteIfExists(part);
            Files.deleteIfExists(copy);
            Optional<Path> zstd = source.method() == Compression.Method.ZSTD && !source.encrypted() ? locator.onPath("zstd") : Optional.empty();
            List<BackupManifest.Frame> frames = frames(source, dumpEntry);
            while (true) {
                Stored stored = new Stored(source.dump());
                long t = System.nanoTime();
                String decompressor;
                IOException failed = null;
                try {
                    if (frames != null) {
                        int threads = Math.min(frames.size(), Math.max(1, Math.min(MAX_THREADS, Runtime.getRuntime().availableProcessors())));
                        decompressor = "chrono-dr (" + frames.size() + " frames on " + threads + " threads)";
                        byFrames(stored, frames, threads, part);
                    } else if (zstd.isPresent()) {
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
                if (failed instanceof BadFrame && frames != null) {
                    // The dump is the one the manifest names, so it is the frame table that is wrong: one stream still reads it.
                    log.warn("backup {}: the manifest's frame table does not fit its dump ({}); decompressing it as one stream",
                            source.id(), failed.getMessage());
                    delete(part);
                    frames = null;
                    continue;
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
            }
        } catch (IOException | RuntimeException e) {
            delete(part);
            delete(copy);
            if (e instanceof ChronoException c) {
                throw c;
            }
            if (!(e instanceof IOException io && onCopySide(io))) {
                throw ChronoException.failed("backup " + source.id() + " is corrupt or truncated: " + e.getMessage() + "; nothing was touched",
                        "choose another backup");
            }
            throw ChronoException.failed("cannot decompress the archive for a parallel restore into " + dir + ": " + e.getMessage()
                    + "; nothing was touched", "free space there, or restore with --jobs 1 (streams without a temporary file)");
        }
    }

    /** A failure on the copy's side (its directory, its disk), not the backup's. */
    private static boolean onCopySide(IOException e) {
        return e instanceof FileSystemException || e instanceof CopyWriteFailed
                || String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("no space left");
    }

    /**
     * The dump's frames when they can be decompressed side by side: an unencrypted zstd dump that
     * the backup wrote as more than one frame ({@link dev.chronodr.repo.FramedZstdOutputStream}),
     * whose frame table adds up to the manifest's sizes and the file's, each frame within
     * {@link #MAX_FRAME}. Anything else (older backups, a damaged or foreign table, a file of
     * another size) takes the one-stream path, which reports damage as before.
     */
    static List<BackupManifest.Frame> frames(RestoreSource source, BackupManifest.FileEntry dumpEntry) {
        if (dumpEntry == null || dumpEntry.frames() == null || dumpEntry.frames().size() < 2 || source.encrypted()
                || source.method() != Compression.Method.ZSTD) {
            return null;
        }
        long stored = 0;
        long plain = 0;
        for (BackupManifest.Frame f : dumpEntry.frames()) {
            if (f == null || f.stored() <= 0 || f.stored() > MAX_FRAME || f.plain() < 0 || f.plain() > MAX_FRAME) {
                return null;
            }
            stored += f.stored();
            plain += f.plain();
        }
        try {
            if (stored != dumpEntry.bytes() || stored != Files.size(source.dump())
                    || (dumpEntry.uncompressedBytes() > 0 && plain != dumpEntry.uncompressedBytes())) {
                return null;
            }
        } catch (IOException e) {
            return null; // the one-stream path reports what is wrong with the file
        }
        return dumpEntry.frames();
    }

    /**
     * The frames decompressed side by side, one thread per core (at most {@link #MAX_THREADS}), each frame straight into its
     * place in the copy (zstd-jni's one-shot decoder, which also checks the frame's content
     * checksum); the first stage reads and hashes the dump a frame at a time on this thread and
     * hands each one on. A frame that does not decompress to exactly its recorded length fails the
     * copy. Memory: a buffer of the largest stored frame per thread and one more, and one of the
     * largest decompressed frame per thread (direct; 8 MiB each as backups write them).
     */
    private static void byFrames(Stored stored, List<BackupManifest.Frame> frames, int threads, Path part) throws IOException {
        long maxStored = frames.stream().mapToLong(BackupManifest.Frame::stored).max().orElse(1);
        long maxPlain = frames.stream().mapToLong(BackupManifest.Frame::plain).max().orElse(1);
        BlockingQueue<ByteBuffer> free = new ArrayBlockingQueue<>(threads + 1);
        for (int i = 0; i <= threads; i++) {
            free.add(ByteBuffer.allocateDirect((int) maxStored));
        }
        BlockingQueue<FrameJob> work = new ArrayBlockingQueue<>(threads + 1);
        AtomicReference<IOException> failure = new AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        try (FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int i = 0; i < threads; i++) {
                Thread t = new Thread(() -> decompressFrames(work, free, out, maxPlain, failure), "unpack-frames-" + i);
                t.setDaemon(true);
                t.start();
                workers.add(t);
            }
            try {
                // Never waits on workers that are gone: a buffer or a place in the queue is waited for only while one
                // of them is alive and none has failed.
                stored.feedFrames(frames, () -> waitFor(() -> free.poll(50, TimeUnit.MILLISECONDS), workers, failure), job -> {
                    Boolean handed = waitFor(() -> work.offer(job, 50, TimeUnit.MILLISECONDS) ? Boolean.TRUE : null, workers, failure);
                    return handed != null;
                });
            } finally {
                stop(work, workers);
            }
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        stored.rethrowReadFailure();
    }

    private interface Poll<T> {
        T poll() throws InterruptedException;
    }

    /** What {@code poll} gives, once it gives something; null once every worker has gone or one has failed. */
    private static <T> T waitFor(Poll<T> poll, List<Thread> workers, AtomicReference<IOException> failure) throws InterruptedIOException {
        try {
            while (failure.get() == null && workers.stream().anyMatch(Thread::isAlive)) {
                T got = poll.poll();
                if (got != null) {
                    return got;
                }
            }
            failure.compareAndSet(null, new IOException("the decompressing threads stopped"));
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while decompressing");
        }
    }

    /**
     * Ends the workers and waits for them, whatever state this thread is in: each gets END
     * while it is alive; an interrupt of this thread is passed on to them (a worker then stops
     * where it is) and kept for the caller.
     */
    private static void stop(BlockingQueue<FrameJob> work, List<Thread> workers) {
        boolean interrupted = Thread.interrupted();
        int ends = 0;
        while (ends < workers.size() && workers.stream().anyMatch(Thread::isAlive)) {
            if (interrupted) {
                workers.forEach(Thread::interrupt);
                break;
            }
            try {
                if (work.offer(FrameJob.END, 50, TimeUnit.MILLISECONDS)) {
                    ends++;
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        for (Thread t : workers) {
            while (t.isAlive()) {
                try {
                    t.join(100);
                } catch (InterruptedException e) {
                    interrupted = true;
                    workers.forEach(Thread::interrupt);
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** One frame handed on: its stored bytes (in a buffer of the pool), where its content goes, and how long it is. */
    private record FrameJob(int index, ByteBuffer stored, long plainAt, long plain) {
        static final FrameJob END = new FrameJob(-1, null, 0, 0);
    }

    /** A frame that does not decode to what the manifest's frame table says: the table or the dump is wrong. */
    static final class BadFrame extends IOException {
        BadFrame(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A write of the copy that failed: this machine's problem, whatever the message. */
    static final class CopyWriteFailed extends IOException {
        CopyWriteFailed(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /**
     * A decompressing thread: every buffer it takes goes back to the pool, whatever happened;
     * whatever stops it (a decoder that cannot start included) is recorded as the failure.
     */
    private static void decompressFrames(BlockingQueue<FrameJob> work, BlockingQueue<ByteBuffer> free, FileChannel out, long maxPlain,
                                         AtomicReference<IOException> failure) {
        try (ZstdDecompressCtx ctx = new ZstdDecompressCtx()) {
            ByteBuffer plain = null;
            while (true) {
                FrameJob job = work.take();
                if (job == FrameJob.END) {
                    return;
                }
                try {
                    if (failure.get() == null) {
                        if (plain == null) {
                            plain = ByteBuffer.allocateDirect((int) maxPlain);
                        }
                        int n;
                        try {
                            n = ctx.decompressDirectByteBuffer(plain, 0, (int) job.plain(), job.stored(), 0, job.stored().limit());
                        } catch (RuntimeException e) { // zstd-jni reports bad frames unchecked
                            throw new BadFrame("frame " + job.index() + " is not a valid zstd frame: " + e.getMessage(), e);
                        }
                        if (n != job.plain()) {
                            throw new BadFrame("frame " + job.index() + " decompressed to " + n + " bytes, the manifest says " + job.plain(), null);
                        }
                        plain.clear().limit(n);
                        try {
                            for (long at = job.plainAt(); plain.hasRemaining(); ) {
                                at += out.write(plain, at);
                            }
                        } catch (IOException e) {
                            throw new CopyWriteFailed(e);
                        }
                    }
                } finally {
                    free.add(job.stored().clear());
                }
            }
        } catch (InterruptedException e) {
            failure.compareAndSet(null, new InterruptedIOException("interrupted while decompressing"));
        } catch (IOException e) {
            failure.compareAndSet(null, e);
        } catch (RuntimeException | Error e) {
            failure.compareAndSet(null, new IOException("decompressing failed: " + e, e));
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

        private interface Pool {
            /** A buffer for the next frame, or null once nothing is to be handed on. */
            ByteBuffer take() throws IOException;
        }

        private interface FrameSink {
            boolean accept(FrameJob job) throws IOException;
        }

        /**
         * Into the frames' decompressing threads: each frame's stored bytes are read into a buffer
         * of the pool, hashed and handed on; once the second stage has stopped (or the file ends
         * before its frames do), the rest of the file is hashed without handing on, so the SHA-256
         * is always the whole file's.
         */
        void feedFrames(List<BackupManifest.Frame> frames, Pool pool, FrameSink sink) throws IOException {
            try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
                long plainAt = 0;
                int index = 0;
                for (BackupManifest.Frame f : frames) {
                    long t0 = System.nanoTime();
                    ByteBuffer buf = pool.take();
                    long t1 = System.nanoTime();
                    handOnNanos += t1 - t0;
                    if (buf == null) {
                        break;
                    }
                    buf.clear().limit((int) f.stored());
                    while (buf.hasRemaining() && in.read(buf) > 0) {
                        // the whole frame
                    }
                    long t2 = System.nanoTime();
                    buf.flip();
                    sha.update(buf.duplicate());
                    bytes += buf.limit();
                    long t3 = System.nanoTime();
                    readNanos += t2 - t1;
                    hashNanos += t3 - t2;
                    boolean whole = buf.limit() == f.stored();
                    if (!whole || !sink.accept(new FrameJob(index++, buf, plainAt, f.plain()))) {
                        break; // a short file: its hash says so
                    }
                    plainAt += f.plain();
                    handOnNanos += System.nanoTime() - t3;
                }
                hashRest(in);
            } catch (IOException e) {
                readFailure = new IOException("cannot read " + file + ": " + e.getMessage(), e);
                throw readFailure;
            } finally {
                done = true;
            }
        }

        private void hashRest(FileChannel in) throws IOException {
            ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
            while (in.read(chunk.clear()) > 0) {
                chunk.flip();
                sha.update(chunk.array(), 0, chunk.limit());
                bytes += chunk.limit();
            }
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
