package dev.chronodr.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;

/**
 * One backup per database at a time. The kernel holds the lock (flock) and drops it when
 * the holder dies, so a lock left by a killed run can never block the next one; the
 * file's text only names the holder for the message.
 */
public final class RepoLock implements AutoCloseable {
    private final Runnable release;

    private RepoLock(Runnable release) {
        this.release = release;
    }

    /** A lock held by other means (object storage: {@link ObjectLease}). */
    static RepoLock of(Runnable release) {
        return new RepoLock(release);
    }

    public static RepoLock acquire(Path file, String what) {
        try {
            // Private like the rest of the repository: the holder's pid and start are nobody else's business.
            Files.createDirectories(file.getParent(), AtomicFile.privateDir());
            Files.setPosixFilePermissions(file.getParent(), AtomicFile.PRIVATE_DIR);
            FileChannel ch = FileChannel.open(file, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE),
                    AtomicFile.privateFile());
            Files.setPosixFilePermissions(file, AtomicFile.PRIVATE_FILE);
            FileLock l = ch.tryLock();
            if (l == null) {
                String holder = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip();
                ch.close();
                throw ChronoException.failed("another " + what + " is running" + (holder.isEmpty() ? "" : " (" + holder + ")"),
                        "wait for it to finish; the lock goes away by itself when that process ends");
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + " since " + Clock.now()).getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(true);
            return new RepoLock(() -> {
                try {
                    ch.truncate(0);
                    l.release();
                    ch.close();
                } catch (IOException ignored) {
                    // the kernel releases the lock with the descriptor anyway
                }
            });
        } catch (IOException e) {
            throw ChronoException.failed("cannot lock " + file + ": " + e.getMessage(), "check the repository's permissions");
        }
    }

    @Override
    public void close() {
        release.run();
    }
}
