package dev.chronodr.repo;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Json;

/**
 * The backup repository on a local (or mounted) filesystem:
 * <pre>
 *   REPO/ID/manifest.json, SHA256SUMS, the dump and the globals   complete backups
 *   REPO/.partial/DB/ID/                                           backups being written
 *   REPO/.locks/DB.lock                                            one writer per database
 * </pre>
 * Every byte goes through {@link Storage} (a local directory now: {@link LocalStorage}). A
 * writer asks for a {@link StagedBackup}, streams its files into it, and {@link #commit}
 * makes the backup appear under REPO/ID at once, after everything in it is written and
 * fsynced, so anything that looks complete is complete. Leftovers of killed runs are
 * swept here too. Writers never compute a path in the repository.
 */
public final class Repository {
    /** The private area: backups being written (.partial/DB/ID) and trees being deleted. */
    static final String PARTIAL = ".partial";
    static final String DELETING = ".deleting-";
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss");
    /** The runbook's files: chrono_scraper_full_20250827_100000.sql.gz and friends. */
    private static final Pattern LEGACY = Pattern.compile("(.+)_(full|schema|data)_(\\d{8})_(\\d{6})\\.(sql|sql\\.gz|dump)");
    /** Our own ids ({@link #newId}): what a directory whose manifest cannot be read still tells. */
    private static final Pattern ID = Pattern.compile("(.+)_(full|schema|data|physical)_(\\d{8})_(\\d{6})(?:_\\d+)?");

    private final Path root;
    private final LocalStorage storage;

    public Repository(Path root) {
        this.storage = new LocalStorage(root);
        this.root = storage.root();
    }

    /**
     * The repository's directory, for reading only (listing, restore's and verify's reads):
     * writes go through {@link #stage}, {@link #commit} and the other methods here.
     */
    public Path root() {
        return root;
    }

    /** For the classes of this package that keep their own files (the WAL archive, side records). */
    LocalStorage storage() {
        return storage;
    }

    /** Where the repository is, for messages. */
    public String location() {
        return storage.location();
    }

    /** Creates the repository (0700) if needed. */
    public void ensureExists() {
        storage.prepare();
    }

    public RepoLock lock(String database) {
        return RepoLock.acquire(root.resolve(".locks").resolve(safe(database) + ".lock"), "backup of database " + database);
    }

    /** A new, unused backup id: DB_TYPE_YYYYMMDD_HHMMSS (UTC), like the runbook's file names. */
    public String newId(String database, String type, OffsetDateTime at) {
        String base = safe(database) + "_" + type + "_" + at.atZoneSameInstant(ZoneId.of("UTC")).format(ID_TIME);
        String id = base;
        for (int i = 2; storage.exists(id); i++) {
            id = base + "_" + i;
        }
        return id;
    }

    /**
     * Removes what killed or failed runs left for this database. Call with the database's
     * lock held, so no live writer's files are touched.
     */
    public int removeLeftovers(String database) {
        String dir = PARTIAL + "/" + safe(database);
        int n = removeInterruptedDeletes().size();
        try {
            for (String left : storage.children(dir)) {
                storage.deleteTree(dir + "/" + left);
                n++;
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot clean leftovers in " + root.resolve(dir) + ": " + e.getMessage(), null);
        }
        return n;
    }

    /**
     * A fresh staging area for a backup in the making (REPO/.partial/DB/ID). Close it in a
     * finally: unless {@link #commit} took it, closing removes what was written.
     */
    public StagedBackup stage(String database, String id) {
        String prefix = PARTIAL + "/" + safe(database) + "/" + id;
        try {
            storage.createFresh(prefix);
            return new StagedBackup(this, prefix, id);
        } catch (IOException e) {
            throw ChronoException.failed("cannot create " + root.resolve(prefix) + ": " + e.getMessage(),
                    "check the repository's permissions and free space");
        }
    }

    /**
     * Writes the manifest and SHA256SUMS into the staged backup and commits it (everything
     * made private and durable, then visible under REPO/ID at once). Returns where it is.
     */
    public String commit(StagedBackup staged, BackupManifest manifest) {
        try {
            storage.write(staged.prefix() + "/" + BackupManifest.FILE_NAME, out -> Json.mapper().writeValue(
                    new java.io.FilterOutputStream(out) {
                        @Override
                        public void close() throws IOException {
                            flush(); // Jackson closes its target; the storage closes the stream itself
                        }
                    }, manifest));
            StringBuilder sums = new StringBuilder();
            for (BackupManifest.FileEntry f : manifest.files()) {
                sums.append(f.sha256()).append("  ").append(f.name()).append('\n');
            }
            byte[] sumBytes = sums.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            storage.write(staged.prefix() + "/SHA256SUMS", out -> out.write(sumBytes));
            storage.commit(staged.prefix(), manifest.id());
            staged.committed();
            return root.resolve(manifest.id()).toString();
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

    /** Deletes one stored backup (a directory or a legacy file); a half-deleted backup never looks complete. */
    public void delete(StoredBackup b) {
        Path p = b.path();
        try {
            storage.deleteTree(root.relativize(p.toAbsolutePath().normalize()).toString());
        } catch (IOException | IllegalArgumentException e) {
            throw ChronoException.failed("cannot delete " + p + ": " + e.getMessage(), null);
        }
    }

    /**
     * A small record a command keeps in the repository (the drill's REPO/.drill/TOKEN.json):
     * written whole or not at all, private, durable. {@code area} is a dot-directory of
     * its own, {@code name} a plain file name.
     */
    public void writeRecord(String area, String name, byte[] content) throws IOException {
        storage.prepare();
        storage.write(recordKey(area, name), out -> out.write(content));
    }

    /** The records of an area, by name (temporary files of a write in progress left out). */
    public List<String> records(String area) throws IOException {
        return storage.children(recordKey(area, null)).stream().filter(n -> !n.startsWith(".")).toList();
    }

    public byte[] readRecord(String area, String name) throws IOException {
        try (var in = storage.read(recordKey(area, name))) {
            return in.readAllBytes();
        }
    }

    public void deleteRecord(String area, String name) throws IOException {
        storage.delete(recordKey(area, name));
    }

    private static String recordKey(String area, String name) {
        if (!area.startsWith(".") || area.contains("/") || area.equals(PARTIAL) || area.equals(".locks")
                || name != null && (name.isEmpty() || name.contains("/") || name.startsWith("."))) {
            throw new IllegalArgumentException("not a record: " + area + "/" + name);
        }
        return name == null ? area : area + "/" + name;
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
        List<String> names;
        try {
            names = storage.children(PARTIAL);
        } catch (IOException e) {
            throw ChronoException.failed("cannot clean leftovers in " + root.resolve(PARTIAL) + ": " + e.getMessage(), null);
        }
        for (String n : names) {
            if (n.startsWith(DELETING) || n.startsWith(".verified-") && !alive(n)) {
                try {
                    storage.deleteTree(PARTIAL + "/" + n);
                    removed.add(n);
                } catch (IOException e) {
                    // another cleanup may be removing it too; the next run tries again
                }
            }
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

    /**
     * Removes a tree, quietly: what cannot be removed now is left. Kept for the tests'
     * clean-up; production code outside repo/ never deletes inside a repository by path
     * (ArchitectureTest).
     */
    public static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try {
            LocalStorage.removeTree(dir);
        } catch (IOException | java.io.UncheckedIOException ignored) {
            // removed with the next run's leftovers
        }
    }
}
