package dev.chronodr.repo;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;

/**
 * A repository in a directory on this host (or a mounted filesystem). Directories are 0700
 * and files 0600 from their first byte; every file is fsynced before it gets its name and
 * every rename is followed by an fsync of its directory ({@link AtomicFile}).
 */
public final class LocalStorage implements Storage {
    private final Path root;

    public LocalStorage(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    @Override
    public String location() {
        return root.toString();
    }

    @Override
    public void prepare() {
        try {
            if (!Files.isDirectory(root)) {
                Files.createDirectories(root, AtomicFile.privateDir());
                Files.setPosixFilePermissions(root, AtomicFile.PRIVATE_DIR);
            }
            if (!Files.isWritable(root)) {
                throw ChronoException.failed("backup repository " + root + " is not writable", "fix its permissions or choose another --repo");
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot create backup repository " + root + ": " + e.getMessage(), "choose another --repo");
        }
    }

    /** The file or directory of a key; a key that would leave the root is a bug, never a path. */
    Path path(String key) {
        if (key.isEmpty()) {
            return root;
        }
        Path p = root.resolve(key).normalize();
        if (key.startsWith("/") || !p.startsWith(root) || p.equals(root)) {
            throw new IllegalArgumentException("not a key inside the repository: " + key);
        }
        return p;
    }

    @Override
    public boolean exists(String key) {
        return Files.exists(path(key), LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public java.util.Optional<StoredObject> info(String key) throws IOException {
        Path p = path(key);
        if (!Files.isRegularFile(p)) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(new StoredObject(key, Files.size(p), Files.getLastModifiedTime(p).toInstant()));
    }

    @Override
    public List<StoredObject> list(String prefix) throws IOException {
        Path dir = path(prefix);
        List<StoredObject> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                out.add(new StoredObject(key(p), Files.size(p), Files.getLastModifiedTime(p).toInstant()));
            }
        }
        out.sort(Comparator.comparing(StoredObject::key));
        return out;
    }

    @Override
    public List<String> children(String prefix) throws IOException {
        Path dir = path(prefix);
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                out.add(p.getFileName().toString());
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    private String key(Path p) {
        return root.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
    }

    @Override
    public InputStream read(String key) throws IOException {
        return Files.newInputStream(path(key));
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        SeekableByteChannel ch = Files.newByteChannel(path(key), StandardOpenOption.READ);
        ch.position(offset);
        InputStream in = Channels.newInputStream(ch);
        return new java.io.FilterInputStream(in) {
            private long left = length;

            @Override
            public int read() throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int b = super.read();
                if (b >= 0) {
                    left--;
                }
                return b;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int n = super.read(b, off, (int) Math.min(len, left));
                if (n > 0) {
                    left -= n;
                }
                return n;
            }
        };
    }

    @Override
    public Written write(String key, AtomicFile.Content content) throws IOException {
        return store(key, content, true);
    }

    @Override
    public Written create(String key, AtomicFile.Content content) throws IOException {
        return store(key, content, false);
    }

    private Written store(String key, AtomicFile.Content content, boolean replace) throws IOException {
        Path target = path(key);
        makeDirs(target.getParent());
        MessageDigest sha = BackupVerifier.newSha256();
        long[] size = {0};
        AtomicFile.Content measured = out -> {
            OutputStream digested = new DigestOutputStream(out, sha);
            content.writeTo(new FilterOutputStream(digested) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    digested.write(b, off, len);
                    size[0] += len;
                }

                @Override
                public void write(int b) throws IOException {
                    digested.write(b);
                    size[0]++;
                }
            });
        };
        if (replace) {
            AtomicFile.write(target, measured);
        } else {
            AtomicFile.create(target, measured);
        }
        return new Written(key, size[0], HexFormat.of().formatHex(sha.digest()));
    }

    /** Missing directories up to the root, 0700 from the start. */
    private void makeDirs(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        if (!dir.equals(root)) {
            makeDirs(dir.getParent());
        }
        try {
            Files.createDirectory(dir, AtomicFile.privateDir());
        } catch (java.nio.file.FileAlreadyExistsException raced) {
            return;
        }
        Files.setPosixFilePermissions(dir, AtomicFile.PRIVATE_DIR);
        AtomicFile.fsyncDirectory(dir.getParent());
    }

    @Override
    public void delete(String key) throws IOException {
        Files.deleteIfExists(path(key));
    }

    @Override
    public void deleteTree(String prefix) throws IOException {
        Path p = path(prefix);
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            Files.deleteIfExists(p);
            return;
        }
        Path partial = root.resolve(Repository.PARTIAL);
        if (!p.startsWith(partial)) {
            // Rename first so that a half-deleted tree never looks complete.
            Path doomed = partial.resolve(Repository.DELETING + p.getFileName());
            makeDirs(partial);
            Files.move(p, doomed, StandardCopyOption.ATOMIC_MOVE);
            p = doomed;
        }
        removeTree(p);
    }

    static void removeTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(p)) {
            for (Path x : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }

    @Override
    public String stage(String privateArea, String committed) throws IOException {
        if (exists(committed)) {
            throw new java.nio.file.FileAlreadyExistsException(path(committed).toString());
        }
        createFresh(privateArea);
        return privateArea;
    }

    @Override
    public void commit(String staging, String committed, String markerName, AtomicFile.Content marker) throws IOException {
        write(staging + "/" + markerName, marker);
        Path staged = path(staging);
        Path target = path(committed);
        // Files a tool wrote itself (localStaging) get the same privacy and durability as our own.
        try (var walk = Files.walk(staged)) {
            for (Path p : walk.toList()) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.setPosixFilePermissions(p, AtomicFile.PRIVATE_FILE);
                    AtomicFile.fsync(p);
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.setPosixFilePermissions(p, AtomicFile.PRIVATE_DIR);
                    AtomicFile.fsyncDirectory(p);
                }
            }
        }
        makeDirs(target.getParent());
        Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
        AtomicFile.fsyncDirectory(target.getParent());
    }

    @Override
    public Path localStaging(String prefix) throws IOException {
        Path dir = path(prefix);
        makeDirs(dir);
        return dir;
    }

    /** A directory (0700) that a local tool or OS user is given (pitr setup's WAL archive). */
    Path ensureDirectory(String prefix) throws IOException {
        Path dir = path(prefix);
        makeDirs(dir);
        return dir;
    }

    /** A fresh directory (0700) that must not exist yet. */
    Path createFresh(String prefix) throws IOException {
        Path dir = path(prefix);
        makeDirs(dir.getParent());
        Files.createDirectory(dir, AtomicFile.privateDir());
        Files.setPosixFilePermissions(dir, AtomicFile.PRIVATE_DIR);
        return dir;
    }
}
