package dev.chronodr.core;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The one way chrono-dr writes a local file whole or not at all: a private (0600) temporary
 * file beside the target, fsynced, renamed over the target, the directory fsynced so the
 * rename survives a crash. Readers see the old content or the new, never a part, and no
 * temporary file is left behind, whatever fails. Reports, exports, state files and the
 * local storage of a repository ({@code repo.LocalStorage}) all write through it.
 */
public final class AtomicFile {
    /** Files chrono-dr writes name hosts, roles and data: private to their owner. */
    public static final Set<PosixFilePermission> PRIVATE_FILE = PosixFilePermissions.fromString("rw-------");
    public static final Set<PosixFilePermission> PRIVATE_DIR = PosixFilePermissions.fromString("rwx------");

    private AtomicFile() {
    }

    /** What goes into the file; an exception thrown here leaves the target as it was. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    public static void write(Path target, byte[] content) throws IOException {
        write(target, out -> out.write(content));
    }

    /** Replaces (or creates) {@code target}; the parent directories are created when missing. */
    public static void write(Path target, Content content) throws IOException {
        write(target, content, true);
    }

    /**
     * Creates {@code target}, which must not exist yet: {@link FileAlreadyExistsException}
     * when it does (or when another writer created it first), and the existing file is
     * not touched.
     */
    public static void create(Path target, Content content) throws IOException {
        write(target, content, false);
    }

    private static void write(Path target, Content content, boolean replace) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp", privateFile());
        try {
            // createTempFile is 0600 already; set it anyway in case a umask or ACL said otherwise
            Files.setPosixFilePermissions(tmp, PRIVATE_FILE);
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp, StandardOpenOption.WRITE), 1 << 16)) {
                content.writeTo(out);
            }
            fsync(tmp);
            if (replace) {
                try {
                    Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
                }
            } else {
                try {
                    // link() fails when the name exists: a concurrent writer of the same name is never overwritten
                    Files.createLink(abs, tmp);
                } catch (FileAlreadyExistsException e) {
                    throw e;
                } catch (UnsupportedOperationException | IOException noLinks) {
                    if (Files.exists(abs)) {
                        throw new FileAlreadyExistsException(abs.toString());
                    }
                    Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
                }
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        fsyncDirectory(dir);
    }

    public static FileAttribute<Set<PosixFilePermission>> privateFile() {
        return PosixFilePermissions.asFileAttribute(PRIVATE_FILE);
    }

    public static FileAttribute<Set<PosixFilePermission>> privateDir() {
        return PosixFilePermissions.asFileAttribute(PRIVATE_DIR);
    }

    /** Forces a file's content to disk. */
    public static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** Forces a directory's entries (a rename, a new file) to disk, where the filesystem can. */
    public static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some filesystems cannot fsync a directory; the rename is still atomic
        }
    }
}
