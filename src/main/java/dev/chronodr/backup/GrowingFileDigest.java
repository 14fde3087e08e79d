package dev.chronodr.backup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.function.LongConsumer;

import dev.chronodr.repo.WalArchive;

/**
 * SHA-256 of a file another process is still writing front to back (pg_basebackup's
 * base.tar.zst), computed on a thread of its own while the file grows, so the checksum
 * costs no pass of its own afterwards. {@link #finish()} is called once the writer has
 * exited: the rest is read to the real end of the file.
 */
final class GrowingFileDigest implements AutoCloseable {
    private static final long POLL_MILLIS = 20;

    private final Path file;
    private final LongConsumer progress;
    private final MessageDigest sha = WalArchive.sha256();
    private final Thread thread;
    private volatile boolean writerDone;
    private volatile boolean cancelled;
    private long bytes;
    private IOException failure;

    GrowingFileDigest(Path file, LongConsumer progress) {
        this.file = file;
        this.progress = progress;
        this.thread = new Thread(this::follow, "sha256-" + file.getFileName());
        thread.setDaemon(true);
        thread.start();
    }

    private void follow() {
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        try {
            FileChannel ch = null;
            try {
                while (!cancelled) {
                    if (ch == null) {
                        boolean wasDone = writerDone; // before the attempt: a writer done by now has created the file
                        try {
                            ch = FileChannel.open(file, StandardOpenOption.READ);
                        } catch (NoSuchFileException notYet) {
                            if (wasDone) {
                                return; // finish() reports the missing file
                            }
                            Thread.sleep(POLL_MILLIS);
                            continue;
                        }
                    }
                    boolean last = writerDone; // read before the read: a writer done now wrote everything it will
                    int n = ch.read(buf.clear());
                    if (n > 0) {
                        sha.update(buf.array(), 0, n);
                        bytes += n;
                        progress.accept(bytes);
                    } else if (last) {
                        return;
                    } else {
                        Thread.sleep(POLL_MILLIS);
                    }
                }
            } finally {
                if (ch != null) {
                    ch.close();
                }
            }
        } catch (IOException e) {
            failure = e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The writer has exited successfully: hash what remains and return the hex digest. */
    String finish() throws IOException {
        writerDone = true;
        join();
        if (failure != null) {
            throw failure;
        }
        if (cancelled) {
            throw new java.io.InterruptedIOException("interrupted while hashing " + file);
        }
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "pg_basebackup did not write it");
        }
        if (bytes != Files.size(file)) {
            throw new IOException("hashed " + bytes + " bytes of " + file + ", which has " + Files.size(file));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    long bytes() {
        return bytes;
    }

    /** The writer failed: stop without a digest. */
    @Override
    public void close() {
        cancelled = true;
        writerDone = true;
        join();
    }

    /** Waits for the hashing thread to end; an interrupt is kept for later, never a half-read digest. */
    private void join() {
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
                cancelled = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
