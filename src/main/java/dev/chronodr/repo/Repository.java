package dev.chronodr.repo;

import java.io.IOException;
import java.io.InputStream;
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

    /** How long an uncommitted backup's objects on object storage are left for a writer that may still be running. */
    static final java.time.Duration UNCOMMITTED_GRACE = java.time.Duration.ofHours(24);

    private final Path root;
    private final Storage storage;
    private final RepoLocation where;

    public Repository(Path root) {
        this(RepoLocation.local(root));
    }

    private Repository(RepoLocation where) {
        this.where = where;
        if (where.isS3()) {
            this.storage = new S3Storage(where);
            this.root = null;
        } else {
            LocalStorage local = new LocalStorage(where.local());
            this.storage = local;
            this.root = local.root();
        }
    }

    /** Over a given storage (the tests' S3 client); {@code where} says what it is. */
    Repository(Storage storage, RepoLocation where) {
        this.storage = storage;
        this.where = where;
        this.root = storage instanceof LocalStorage l ? l.root() : null;
    }

    /** The one factory: a directory, or s3://bucket/prefix. */
    public static Repository open(RepoLocation where) {
        return new Repository(where);
    }

    public RepoLocation where() {
        return where;
    }

    /** True when the bytes are on object storage, not in a directory here. */
    public boolean remote() {
        return root == null;
    }

    /**
     * The repository's directory, for the features that still need one (physical backups,
     * PITR, restore points, the unpack directory): a usage error on object storage. Reads
     * and writes of backups go through {@link Storage}.
     */
    public Path root() {
        if (root == null) {
            return where.path("this command");
        }
        return root;
    }

    /** The directory of a local repository; empty on object storage. */
    public Optional<Path> localRoot() {
        return Optional.ofNullable(root);
    }

    /** For the classes of this package that keep their own files (the WAL archive, side records). */
    Storage storage() {
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

    /**
     * Whether the repository answers a read, which changes nothing. On object storage the first
     * request also starts the SDK's connection machinery (a few tenths of a second), so a
     * command may ask this beside its other checks and find {@link #ensureExists} quick.
     */
    public boolean answers() {
        try {
            storage.exists("");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    public RepoLock lock(String database) {
        if (root == null) {
            return ObjectLease.acquire(storage, ".locks/" + safe(database) + ".lease", "backup of database " + database,
                    java.time.Duration.ofSeconds(where.s3() == null ? S3Settings.DEFAULT_LEASE_SECONDS : where.s3().leaseSeconds()));
        }
        return RepoLock.acquire(root.resolve(".locks").resolve(safe(database) + ".lock"), "backup of database " + database);
    }

    /** A new, unused backup id: DB_TYPE_YYYYMMDD_HHMMSS (UTC), like the runbook's file names. */
    public String newId(String database, String type, OffsetDateTime at) {
        String base = safe(database) + "_" + type + "_" + at.atZoneSameInstant(ZoneId.of("UTC")).format(ID_TIME);
        String id = base;
        try {
            for (int i = 2; storage.exists(id); i++) {
                id = base + "_" + i;
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot read " + location() + ": " + e.getMessage(), "check the repository's location and access");
        }
        return id;
    }

    /**
     * Removes what killed or failed runs left for this database. Call with the database's
     * lock held, so no live writer's files are touched.
     */
    public int removeLeftovers(String database) {
        return removeLeftovers(database, null);
    }

    /**
     * What failed runs of this database left; on object storage all but the backup {@code writing}
     * (null: none is being written). A directory is cleaned before anything is staged, so all of it.
     */
    private int removeLeftovers(String database, String writing) {
        String dir = PARTIAL + "/" + safe(database);
        int n = removeInterruptedDeletes(false).size();
        if (root == null) {
            // Under the lease no other writer of this database runs: its uncommitted backups are leftovers.
            return n + removeUncommitted(safe(database), java.time.Instant.now().minusSeconds(where.s3() == null ? 0 : where.s3().leaseSeconds()),
                    writing, true);
        }
        try {
            for (String left : storage.children(dir)) {
                storage.deleteTree(dir + "/" + left);
                n++;
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot clean leftovers in " + location() + "/" + dir + ": " + e.getMessage(), null);
        }
        return n;
    }

    /**
     * {@link #removeLeftovers} for a backup about to stage {@code writing} (an id from
     * {@link #newId}), off its path where it can be. On object storage it runs on a thread of
     * its own beside the backup: its deletes wait for the lease's proof (see {@link ObjectLease})
     * and touch only this database's objects and uploads older than the lease, and never those
     * of {@code writing}, whatever the clocks say (newId gives an id no object is under). A
     * directory's are removed here and now, before staging and the dump need their space.
     */
    public java.util.concurrent.CompletableFuture<Integer> removeLeftoversBeside(String database, String writing) {
        if (root != null) {
            // Not staged yet: whatever is in the private area, even under this id (a killed run in the same second), is left over.
            return java.util.concurrent.CompletableFuture.completedFuture(removeLeftovers(database));
        }
        // The proof of the lease held now: if it fails, this removes nothing, even after the lock is closed.
        java.util.concurrent.CompletableFuture<Void> proof = storage instanceof S3Storage s3 ? s3.guard()
                : java.util.concurrent.CompletableFuture.completedFuture(null);
        return dev.chronodr.core.Background.supply("leftovers", () -> {
            try {
                S3Storage.await(proof);
            } catch (IOException e) {
                throw ChronoException.failed("cannot clean leftovers in " + location() + ": " + e.getMessage(), null);
            }
            return removeLeftovers(database, writing);
        });
    }

    /**
     * A fresh staging area for a backup in the making (REPO/.partial/DB/ID). Close it in a
     * finally: unless {@link #commit} took it, closing removes what was written.
     */
    public StagedBackup stage(String database, String id) {
        String privateArea = PARTIAL + "/" + safe(database) + "/" + id;
        try {
            return new StagedBackup(this, storage.stage(privateArea, id), id);
        } catch (IOException e) {
            throw ChronoException.failed("cannot start backup " + id + " in " + location() + ": " + e.getMessage(),
                    "check the repository's permissions and free space");
        }
    }

    /**
     * Writes the manifest and SHA256SUMS into the staged backup and commits it (everything
     * made private and durable, then visible under REPO/ID at once). Returns where it is.
     */
    public String commit(StagedBackup staged, BackupManifest manifest) {
        try {
            StringBuilder sums = new StringBuilder();
            for (BackupManifest.FileEntry f : manifest.files()) {
                sums.append(f.sha256()).append("  ").append(f.name()).append('\n');
            }
            byte[] sumBytes = sums.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            storage.write(staged.prefix() + "/SHA256SUMS", out -> out.write(sumBytes));
            // The manifest last: on object storage it is the commit marker.
            storage.commit(staged.prefix(), manifest.id(), BackupManifest.FILE_NAME, out -> Json.mapper().writeValue(
                    new java.io.FilterOutputStream(out) {
                        @Override
                        public void close() throws IOException {
                            flush(); // Jackson closes its target; the storage closes the stream itself
                        }
                    }, manifest));
            staged.committed();
            return root != null ? root.resolve(manifest.id()).toString() : location() + "/" + manifest.id();
        } catch (IOException e) {
            throw ChronoException.failed("cannot finish backup " + manifest.id() + ": " + e.getMessage(), "check free space in " + location());
        }
    }

    /**
     * Every backup in the repository, newest first, each with its state ({@link Assessment}):
     * directories with a manifest, directories whose manifest cannot be read (damaged, known
     * by their name), and the runbook's legacy files.
     */
    public List<StoredBackup> backups() {
        if (root == null) {
            List<StoredBackup> out = remoteBackups();
            out.sort(Comparator.comparing(StoredBackup::time, Comparator.nullsLast(Comparator.reverseOrder())));
            return out;
        }
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
        try {
            storage.deleteTree(b.path() != null && root != null ? root.relativize(b.path().toAbsolutePath().normalize()).toString() : b.key());
        } catch (IOException | IllegalArgumentException e) {
            throw ChronoException.failed("cannot delete " + b.location() + ": " + e.getMessage(), null);
        }
    }

    /**
     * The backups on object storage: each top-level prefix with a manifest (the commit
     * marker); a prefix without one is a backup being written or one that never finished,
     * and is not listed. Legacy files are a local matter and are not looked for.
     */
    private List<StoredBackup> remoteBackups() {
        List<StoredBackup> out = new ArrayList<>();
        try {
            for (String name : storage.children("")) {
                if (name.startsWith(".") || name.equals(WalArchive.PREFIX) || !ID.matcher(name).matches() && !storage.exists(name + "/" + BackupManifest.FILE_NAME)) {
                    continue;
                }
                List<Storage.StoredObject> objects = storage.list(name);
                if (objects.stream().noneMatch(o -> o.key().equals(name + "/" + BackupManifest.FILE_NAME))) {
                    continue;
                }
                out.add(remote(name, objects));
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot list " + location() + ": " + e.getMessage(), S3Storage.hint(e));
        }
        return out;
    }

    private StoredBackup remote(String name, List<Storage.StoredObject> objects) {
        String why;
        byte[] manifestBytes = null;
        try (var in = storage.read(name + "/" + BackupManifest.FILE_NAME)) {
            manifestBytes = in.readAllBytes();
            BackupManifest m = Json.mapper().readValue(manifestBytes, BackupManifest.class);
            if (m.id() != null && m.files() != null && m.tables() != null && m.type() != null) {
                return Assessment.remote(this, name, objects, m, manifestBytes);
            }
            why = "manifest unreadable: id, type, tables or files missing";
        } catch (IOException e) {
            why = "manifest unreadable: " + firstLine(e.getMessage());
        }
        Matcher id = ID.matcher(name);
        if (id.matches()) {
            OffsetDateTime at = LocalDateTime.parse(id.group(3) + "_" + id.group(4), ID_TIME).atOffset(java.time.ZoneOffset.UTC);
            return new StoredBackup(name, unsafe(id.group(1)), id.group(2), at, false, null, null, BackupState.DAMAGED, why, null, name);
        }
        return new StoredBackup(name, null, null, null, false, null, null, BackupState.DAMAGED, why, null, name);
    }

    /**
     * Removes, on object storage, the objects of backups of {@code safeDb} that were never
     * committed (no manifest) and were last written before {@code before}; and multipart
     * uploads abandoned as long ago. Returns how many backups were removed.
     */
    private int removeUncommitted(String safeDb, java.time.Instant before, String writing, boolean uploads) {
        int n = 0;
        // Only backups of this database (any, with safeDb null), never the one being written.
        java.util.function.Predicate<String> ours = name -> {
            Matcher id = ID.matcher(name);
            return !name.startsWith(".") && id.matches() && (safeDb == null || id.group(1).equals(safeDb)) && !name.equals(writing);
        };
        try {
            for (String name : storage.children("")) {
                if (!ours.test(name)) {
                    continue;
                }
                List<Storage.StoredObject> objects = storage.list(name);
                boolean committed = objects.stream().anyMatch(o -> o.key().equals(name + "/" + BackupManifest.FILE_NAME));
                boolean recent = objects.stream().anyMatch(o -> !o.modified().isBefore(before));
                if (!committed && !objects.isEmpty() && !recent) {
                    storage.deleteTree(name);
                    log.info("removed uncommitted backup {} (objects left by a run that did not finish)", name);
                    n++;
                }
            }
            if (uploads && storage instanceof S3Storage s3) {
                // Under the database's lease no other writer of it runs: its uploads but the one being written are
                // abandoned, however recent (S3Proxy reports every upload as started at the moment it is listed).
                s3.abortAbandonedUploads(safeDb == null ? before : java.time.Instant.MAX,
                        key -> ours.test(key.contains("/") ? key.substring(0, key.indexOf('/')) : key));
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot clean leftovers in " + location() + ": " + e.getMessage(), null);
        }
        return n;
    }

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Repository.class);

    /**
     * Restore points recorded by {@code restore-point}, one small JSON file each:
     * REPO/restore_points/ in a directory (where they always were), PREFIX/.restore_points/ in
     * a bucket (a dot-name, so never taken for a backup).
     */
    private String restorePointArea() {
        return root != null ? "restore_points" : ".restore_points";
    }

    /** The restore point files, by name (temporary files of a write in progress left out). */
    public List<String> restorePointFiles() throws IOException {
        return storage.children(restorePointArea()).stream().filter(n -> !n.startsWith(".") && n.endsWith(".json")).toList();
    }

    /** Where a restore point's record is, for messages: a path, or the bucket's location and key. */
    public String restorePointLocation(String file) {
        return root != null ? root.resolve(restorePointArea()).resolve(plainName(file)).toString()
                : location() + "/" + restorePointArea() + "/" + plainName(file);
    }

    /** One restore point's record; NoSuchFileException when there is none of that name. */
    public byte[] readRestorePoint(String file) throws IOException {
        try (var in = storage.read(restorePointArea() + "/" + plainName(file))) {
            return in.readAllBytes();
        }
    }

    /** Written whole or not at all, durable. */
    public void writeRestorePoint(String file, byte[] content) throws IOException {
        if (root != null) {
            storage.prepare();
        }
        storage.write(restorePointArea() + "/" + plainName(file), out -> out.write(content));
    }

    private static String plainName(String file) {
        if (file.isEmpty() || file.contains("/") || file.startsWith(".")) {
            throw new IllegalArgumentException("not a restore point file name: " + file);
        }
        return file;
    }

    /**
     * A small record a command keeps in the repository (the drill's REPO/.drill/TOKEN.json):
     * written whole or not at all, private, durable. {@code area} is a dot-directory of
     * its own, {@code name} a plain file name.
     */
    public void writeRecord(String area, String name, byte[] content) throws IOException {
        if (root != null) {
            storage.prepare();
        }
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
        return removeInterruptedDeletes(true);
    }

    /**
     * {@code uploads}: also abort any database's multipart uploads started over a day ago
     * (cleanup does); a backup does not, since another database's backup may have been
     * uploading that long, and leaves them to cleanup and the bucket's lifecycle rule.
     */
    private List<String> removeInterruptedDeletes(boolean uploads) {
        List<String> removed = new ArrayList<>();
        if (root == null) {
            // Object storage: backups of any database that stayed uncommitted for a day are leftovers.
            if (removeUncommitted(null, java.time.Instant.now().minus(UNCOMMITTED_GRACE), null, uploads) > 0) {
                removed.add("uncommitted backups older than " + UNCOMMITTED_GRACE.toHours() + " h");
            }
            return removed;
        }
        List<String> names;
        try {
            names = storage.children(PARTIAL);
        } catch (IOException e) {
            throw ChronoException.failed("cannot clean leftovers in " + location() + "/" + PARTIAL + ": " + e.getMessage(), null);
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
     * Where copies of backups on object storage go when a PostgreSQL tool needs a real file
     * (pg_restore -j seeks in its archive): CHRONO_DR_SPOOL, else the system's temporary
     * directory; a private chrono-dr-spool directory in it.
     */
    public static Path spoolDirectory() {
        String env = System.getenv("CHRONO_DR_SPOOL");
        Path base = env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("java.io.tmpdir"));
        return base.resolve("chrono-dr-spool");
    }

    /**
     * A local directory holding the backup's files: its own directory in a local repository;
     * on object storage a copy in the spool (PID-ID, private), each file checked against the
     * manifest's size and SHA-256 on the way, removed when this process ends. Copies left by
     * processes that are gone are removed first; a whole copy this process made already (by
     * {@link #checkIntoSpool}) is taken as it is.
     */
    public Path localCopy(StoredBackup b) {
        if (b.path() != null) {
            return b.path();
        }
        Spooled s = spool(b);
        if (!s.problems().isEmpty()) {
            throw ChronoException.failed("cannot copy backup " + b.id() + " from " + location() + ": " + String.join("; ", s.problems())
                    + " (damaged)", "chrono-dr verify --backup " + b.id() + ", or choose another backup");
        }
        return s.dir();
    }

    /**
     * The checksum check of a backup that is about to be restored (restore --latest): on object
     * storage, the check is the copy into the spool, so the one download that proves the backup
     * is also the copy the restore then reads ({@link #localCopy} finds it whole). The problems
     * are the backup's (a missing object, a size or SHA-256 that differs, an object that cannot
     * be read), and leave nothing in the spool; a failure on this side (the spool's disk) is
     * thrown, and is not the backup's. In a local repository it is the check in place.
     */
    public List<String> checkIntoSpool(StoredBackup b) {
        if (b.path() != null || b.manifest() == null) {
            return BackupVerifier.checksums(this, b);
        }
        List<String> problems = spool(b).problems();
        recordVerification(b, problems.isEmpty(), problems, "checksums");
        return problems;
    }

    /** A write into the spool that failed, told apart from a read of the stored object that did. */
    private static final class SpoolWriteFailed extends IOException {
        SpoolWriteFailed(IOException cause) {
            super(cause);
        }

        @Override
        public synchronized IOException getCause() {
            return (IOException) super.getCause();
        }
    }

    /**
     * Spool copies this process has made and checked whole. Only these are taken again without
     * a download: a directory of the same name left by another process (the PID of a container's
     * process is the same at every start) is never trusted, however complete it looks.
     */
    private static final java.util.Set<Path> SPOOLED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** A backup's copy in the spool, or why it cannot be one (nothing then left). */
    private record Spooled(Path dir, List<String> problems) {
    }

    private Spooled spool(StoredBackup b) {
        Path spool = spoolDirectory();
        String name = ProcessHandle.current().pid() + "-" + b.id().replaceAll("[^A-Za-z0-9_.-]", "_");
        Path dir = spool.resolve(name);
        List<String> problems = new ArrayList<>();
        try {
            Files.createDirectories(spool, dev.chronodr.core.AtomicFile.privateDir());
            removeStaleSpool(spool);
            if (SPOOLED.contains(dir) && Files.isDirectory(dir) && complete(dir, b.manifest())) {
                return new Spooled(dir, problems); // checked by this process, moments ago
            }
            SPOOLED.remove(dir);
            LocalStorage.removeTree(dir);
            Files.createDirectory(dir, dev.chronodr.core.AtomicFile.privateDir());
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(dir), "spool-cleanup"));
            java.util.Set<String> names = new java.util.LinkedHashSet<>(List.of(BackupManifest.FILE_NAME, "SHA256SUMS"));
            b.manifest().files().forEach(f -> names.add(f.name()));
            for (String n : names) {
                if (!Assessment.plainName(n)) {
                    problems.add("the manifest names '" + n + "', not a file of its own: not read");
                    continue;
                }
                BackupManifest.FileEntry entry = b.manifest().files().stream().filter(f -> f.name().equals(n)).findFirst().orElse(null);
                IOException[] fromStorage = {null};
                java.security.MessageDigest sha = BackupVerifier.newSha256();
                long[] size = {0};
                try {
                    dev.chronodr.core.AtomicFile.write(dir.resolve(n), out -> {
                        try (InputStream in = new java.security.DigestInputStream(storage.read(b.key() + "/" + n), sha)) {
                            byte[] buf = new byte[1 << 16];
                            for (int k; (k = in.read(buf)) >= 0; ) {
                                try {
                                    out.write(buf, 0, k);
                                } catch (IOException e) {
                                    throw new SpoolWriteFailed(e);
                                }
                                size[0] += k;
                            }
                        } catch (SpoolWriteFailed e) {
                            throw e.getCause();
                        } catch (IOException e) {
                            fromStorage[0] = e; // opening, reading or closing the stored object
                            throw e;
                        } catch (RuntimeException e) {
                            fromStorage[0] = new IOException(String.valueOf(e.getMessage()), e); // a client library's unchecked failure
                            throw fromStorage[0];
                        }
                    });
                } catch (IOException e) {
                    if (fromStorage[0] == null) {
                        throw e; // this side: the spool's disk
                    }
                    problems.add(n + (fromStorage[0] instanceof java.nio.file.NoSuchFileException ? ": missing"
                            : ": unreadable (" + fromStorage[0].getMessage() + ")"));
                    continue;
                }
                String got = java.util.HexFormat.of().formatHex(sha.digest());
                if (entry != null && (size[0] != entry.bytes() || !got.equals(entry.sha256()))) {
                    problems.add(n + ": " + (size[0] != entry.bytes() ? size[0] + " bytes, manifest says " + entry.bytes() + " (truncated or replaced)"
                            : "SHA-256 " + got.substring(0, 16) + "... does not match the manifest's "
                            + (entry.sha256() == null ? "null" : entry.sha256().substring(0, Math.min(16, entry.sha256().length()))) + "..."));
                }
            }
            if (b.manifest().files().isEmpty()) {
                problems.add("the manifest lists no files");
            }
            if (!problems.isEmpty()) {
                deleteQuietly(dir);
            } else {
                SPOOLED.add(dir);
            }
            return new Spooled(dir, problems);
        } catch (IOException e) {
            deleteQuietly(dir);
            throw ChronoException.failed("cannot copy backup " + b.id() + " from " + location() + " into " + dir + ": " + e.getMessage(),
                    "check free space there (CHRONO_DR_SPOOL chooses another directory) and the repository");
        }
    }

    /**
     * One file of a backup (in a directory or a bucket) into {@code dest}, checked against the
     * size and SHA-256 its manifest records; a mismatch is damage (exit 2) and leaves no
     * {@code dest}. For small files a tool needs by path (a parent's backup_manifest).
     */
    public void copyFile(StoredBackup b, String name, Path dest) {
        BackupManifest.FileEntry entry = b.manifest() == null ? null
                : b.manifest().files().stream().filter(f -> f.name().equals(name)).findFirst().orElse(null);
        if (entry == null || entry.sha256() == null || !Assessment.plainName(name)) {
            throw ChronoException.failed("backup " + b.id() + " in " + location() + " records no checksummed " + name, null);
        }
        String got;
        long size;
        try {
            java.security.MessageDigest sha = BackupVerifier.newSha256();
            long[] n = {0};
            dev.chronodr.core.AtomicFile.write(dest, out -> {
                try (var in = new java.security.DigestInputStream(storage.read(b.key() + "/" + name), sha)) {
                    n[0] = in.transferTo(out);
                }
            });
            got = java.util.HexFormat.of().formatHex(sha.digest());
            size = n[0];
        } catch (IOException e) {
            throw ChronoException.failed("cannot copy " + name + " of backup " + b.id() + " from " + location() + " into " + dest + ": "
                    + e.getMessage(), "check free space there (CHRONO_DR_SPOOL chooses another directory) and the repository", e);
        }
        if (size != entry.bytes() || !got.equals(entry.sha256())) {
            deleteQuietly(dest);
            throw ChronoException.critical(name + " of backup " + b.id() + " in " + location() + " does not match its manifest (SHA-256 "
                    + got + ", recorded " + entry.sha256() + "): damaged", "chrono-dr verify --backup " + b.id(), null);
        }
    }

    private static boolean complete(Path dir, BackupManifest m) {
        for (BackupManifest.FileEntry f : m.files()) {
            Path p = dir.resolve(f.name());
            if (!Files.isRegularFile(p) || p.toFile().length() != f.bytes()) {
                return false;
            }
        }
        return true;
    }

    /** Spool copies (PID-ID) whose process is gone. */
    private static void removeStaleSpool(Path spool) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(spool)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                int dash = n.indexOf('-');
                if (dash > 0 && n.substring(0, dash).chars().allMatch(Character::isDigit)
                        && !ProcessHandle.of(Long.parseLong(n.substring(0, dash))).map(ProcessHandle::isAlive).orElse(false)) {
                    deleteQuietly(p);
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // the next run tries again
        }
    }

    /**
     * Removes a tree, quietly: what cannot be removed now is left. Kept for the tests'
     * clean-up; production code outside repo/ never deletes inside a repository by path
     * (ArchitectureTest).
     */
    /**
     * Removes a directory this process made in the spool ({@link #spoolDirectory}): a local
     * copy out of object storage, or a base backup on its way there. Anything outside the
     * spool is left alone, whatever a caller passes: a local repository's own backup directory
     * is never removed this way.
     */
    public static void removeSpooled(Path dir) {
        if (dir == null) {
            return;
        }
        Path spool = spoolDirectory().toAbsolutePath().normalize();
        Path d = dir.toAbsolutePath().normalize();
        if (!d.startsWith(spool) || d.equals(spool)) {
            log.warn("not removing {}: not a copy in the spool {}", d, spool);
            return;
        }
        deleteQuietly(d);
    }

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
