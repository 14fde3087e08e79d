package dev.chronodr.repo;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.core.ChronoException;
import dev.chronodr.report.Json;

/**
 * The backup repository on a local (or mounted) filesystem:
 * <pre>
 *   REPO/ID/manifest.json, SHA256SUMS, the dump and the globals   complete backups
 *   REPO/.partial/DB/ID/                                           backups being written
 *   REPO/.locks/DB.lock                                            one writer per database
 * </pre>
 * A backup directory appears under REPO only by an atomic rename after everything in it
 * is written and fsynced, so anything that looks complete is complete.
 */
public final class Repository {
    public static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
    public static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss");
    /** The runbook's files: chrono_scraper_full_20250827_100000.sql.gz and friends. */
    private static final Pattern LEGACY = Pattern.compile("(.+)_(full|schema|data)_(\\d{8})_(\\d{6})\\.(sql|sql\\.gz|dump)");
    /** Our own ids ({@link #newId}): what a directory whose manifest cannot be read still tells. */
    private static final Pattern ID = Pattern.compile("(.+)_(full|schema|data|physical)_(\\d{8})_(\\d{6})(?:_\\d+)?");

    private final Path root;

    public Repository(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    /** Creates the repository (0700) if needed. */
    public void ensureExists() {
        try {
            if (!Files.isDirectory(root)) {
                Files.createDirectories(root, perms(DIR_MODE));
                Files.setPosixFilePermissions(root, DIR_MODE);
            }
            if (!Files.isWritable(root)) {
                throw ChronoException.failed("backup repository " + root + " is not writable", "fix its permissions or choose another --repo");
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot create backup repository " + root + ": " + e.getMessage(), "choose another --repo");
        }
    }

    public RepoLock lock(String database) {
        return RepoLock.acquire(root.resolve(".locks").resolve(safe(database) + ".lock"), "backup of database " + database);
    }

    /** A new, unused backup id: DB_TYPE_YYYYMMDD_HHMMSS (UTC), like the runbook's file names. */
    public String newId(String database, String type, OffsetDateTime at) {
        String base = safe(database) + "_" + type + "_" + at.atZoneSameInstant(ZoneId.of("UTC")).format(ID_TIME);
        String id = base;
        for (int i = 2; Files.exists(root.resolve(id)); i++) {
            id = base + "_" + i;
        }
        return id;
    }

    /**
     * Removes what killed or failed runs left for this database. Call with the database's
     * lock held, so no live writer's files are touched.
     */
    public int removeLeftovers(String database) {
        Path dir = root.resolve(".partial").resolve(safe(database));
        int n = removeInterruptedDeletes().size();
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                for (Path p : ds) {
                    deleteTree(p);
                    n++;
                }
            } catch (IOException e) {
                throw ChronoException.failed("cannot clean leftovers in " + dir + ": " + e.getMessage(), null);
            }
        }
        return n;
    }

    /** A fresh staging directory for a backup in the making. */
    public Path stage(String database, String id) {
        Path dir = root.resolve(".partial").resolve(safe(database)).resolve(id);
        try {
            Files.createDirectories(dir.getParent(), perms(DIR_MODE));
            Files.createDirectory(dir, perms(DIR_MODE));
            Files.setPosixFilePermissions(dir, DIR_MODE);
            return dir;
        } catch (IOException e) {
            throw ChronoException.failed("cannot create " + dir + ": " + e.getMessage(), "check the repository's permissions and free space");
        }
    }

    /** Writes the manifest, fsyncs everything, and renames the staged directory into place. */
    public Path commit(Path staged, BackupManifest manifest) {
        try {
            Path m = staged.resolve(BackupManifest.FILE_NAME);
            Json.mapper().writeValue(m.toFile(), manifest);
            Files.setPosixFilePermissions(m, FILE_MODE);
            StringBuilder sums = new StringBuilder();
            for (BackupManifest.FileEntry f : manifest.files()) {
                sums.append(f.sha256()).append("  ").append(f.name()).append('\n');
            }
            Path s = staged.resolve("SHA256SUMS");
            Files.writeString(s, sums);
            Files.setPosixFilePermissions(s, FILE_MODE);
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(staged)) {
                for (Path p : ds) {
                    fsync(p);
                }
            }
            fsync(staged);
            Path target = root.resolve(manifest.id());
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
            fsync(root);
            return target;
        } catch (IOException e) {
            throw ChronoException.failed("cannot finish backup " + manifest.id() + ": " + e.getMessage(), "check free space in " + root);
        }
    }

    /**
     * Every backup in the repository, newest first, each with its state ({@link Assessment}):
     * directories with a manifest, directories whose manifest cannot be read (damaged, known
     * by their name), and the runbook's legacy files.
     */
    public List<StoredBackup> backups() {
        List<StoredBackup> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                Path m = p.resolve(BackupManifest.FILE_NAME);
                if (Files.isDirectory(p) && Files.exists(m, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    out.add(directory(p, m));
                } else if (Files.isRegularFile(p) || Files.isSymbolicLink(p) && !Files.isDirectory(p)) {
                    legacy(p).ifPresent(out::add);
                }
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot list " + root + ": " + e.getMessage(), null);
        }
        out.sort(Comparator.comparing(StoredBackup::time, Comparator.nullsLast(Comparator.reverseOrder())));
        return out;
    }

    private static StoredBackup directory(Path dir, Path manifestFile) {
        String why;
        try {
            if (Files.isSymbolicLink(manifestFile)) {
                why = "manifest.json is a link";
            } else {
                BackupManifest m = Json.mapper().readValue(manifestFile.toFile(), BackupManifest.class);
                if (m.id() != null && m.files() != null && m.tables() != null && m.type() != null) {
                    return Assessment.directory(dir, m);
                }
                why = "manifest unreadable: id, type, tables or files missing";
            }
        } catch (IOException e) {
            why = "manifest unreadable: " + firstLine(e.getMessage());
        }
        Matcher id = ID.matcher(dir.getFileName().toString());
        if (id.matches()) {
            // The id holds the start; SHA256SUMS was written when the backup was committed, closer to its finish.
            OffsetDateTime at = LocalDateTime.parse(id.group(3) + "_" + id.group(4), ID_TIME).atOffset(java.time.ZoneOffset.UTC);
            try {
                OffsetDateTime committed = Files.getLastModifiedTime(dir.resolve("SHA256SUMS")).toInstant().atOffset(java.time.ZoneOffset.UTC);
                at = committed.isAfter(at) ? committed : at;
            } catch (IOException e) {
                // no SHA256SUMS either: the id's time it is
            }
            return Assessment.unreadable(dir, unsafe(id.group(1)), id.group(2), at, why);
        }
        return Assessment.unreadable(dir, null, null, null, why);
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Records the outcome of a checksum check beside the backup, for later commands. */
    public void recordVerification(StoredBackup b, boolean ok, List<String> problems, String by) {
        VerificationRecord.write(this, b, ok, problems, by);
    }

    public Optional<StoredBackup> find(String id) {
        return backups().stream().filter(b -> b.id().equals(id)).findFirst();
    }

    private static Optional<StoredBackup> legacy(Path file) {
        Matcher m = LEGACY.matcher(file.getFileName().toString());
        if (!m.matches()) {
            return Optional.empty();
        }
        LocalDateTime t = LocalDateTime.parse(m.group(3) + "_" + m.group(4), ID_TIME);
        OffsetDateTime at = t.atZone(ZoneId.systemDefault()).toOffsetDateTime();
        return Optional.of(Assessment.legacy(file, m.group(1), m.group(2), at));
    }

    /** Deletes one stored backup (a directory or a legacy file). */
    public void delete(StoredBackup b) {
        Path p = b.path();
        // Rename first so that a half-deleted backup never looks complete.
        try {
            if (Files.isDirectory(p)) {
                Path doomed = root.resolve(".partial").resolve(".deleting-" + p.getFileName());
                Files.createDirectories(doomed.getParent());
                Files.move(p, doomed, StandardCopyOption.ATOMIC_MOVE);
                deleteTree(doomed);
            } else {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot delete " + p + ": " + e.getMessage(), null);
        }
    }

    /**
     * File-name-safe form of a database name: ASCII letters, digits, '_' and '-' as they are,
     * every other UTF-8 byte as %XX, so different names never share a file name.
     */
    static String safe(String name) {
        StringBuilder b = new StringBuilder();
        for (byte x : name.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if (c < 128 && (Character.isLetterOrDigit(c) || c == '_' || c == '-')) {
                b.append((char) c);
            } else {
                b.append('%').append(String.format("%02X", c));
            }
        }
        return b.toString();
    }

    /** The database name back from {@link #safe}. */
    static String unsafe(String safe) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < safe.length(); i++) {
            char c = safe.charAt(i);
            if (c == '%' && i + 2 < safe.length()) {
                try {
                    out.write(Integer.parseInt(safe.substring(i + 1, i + 3), 16));
                    i += 2;
                    continue;
                } catch (NumberFormatException e) {
                    // not an escape: keep the character
                }
            }
            out.write(c);
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * Removes what a killed cleanup left half-deleted (.partial/.deleting-ID) and checksum
     * records a killed verify did not finish. Returns what was removed, for the report.
     */
    public List<String> removeInterruptedDeletes() {
        List<String> removed = new ArrayList<>();
        Path partial = root.resolve(".partial");
        if (!Files.isDirectory(partial)) {
            return removed;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(partial, p -> {
            String n = p.getFileName().toString();
            return n.startsWith(".deleting-") || n.startsWith(".verified-") && !alive(n);
        })) {
            for (Path p : ds) {
                try {
                    deleteTree(p);
                    removed.add(p.getFileName().toString());
                } catch (IOException e) {
                    // another cleanup may be removing it too; the next run tries again
                }
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot clean leftovers in " + partial + ": " + e.getMessage(), null);
        }
        return removed;
    }

    /** .verified-ID-PID: is the writer still running? */
    private static boolean alive(String tmpName) {
        int dash = tmpName.lastIndexOf('-');
        try {
            return ProcessHandle.of(Long.parseLong(tmpName.substring(dash + 1))).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    public static void fsync(Path p) throws IOException {
        if (Files.isDirectory(p)) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                ch.force(true);
            } catch (IOException e) {
                // some filesystems cannot fsync a directory; the rename is still atomic
            }
        } else {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
        }
    }

    static FileAttribute<Set<PosixFilePermission>> perms(Set<PosixFilePermission> p) {
        return PosixFilePermissions.asFileAttribute(p);
    }

    /**
     * Removes a staging or scratch tree on the way out of a failure; what cannot be removed
     * now is left for the next run's leftover sweep, never reported over the real error.
     */
    public static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try {
            deleteTree(dir);
        } catch (IOException ignored) {
            // removed with the next run's leftovers
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var walk = Files.walk(p)) {
            for (Path x : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }
}
