package dev.chronodr.repo;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The one place that decides what a stored backup is worth ({@link BackupState}), from what
 * can be learned without hashing: every file the manifest names present inside the backup's
 * directory at its recorded size, no link, no path that leaves the directory, nothing the
 * manifest does not name, and the last checksum verdict recorded beside it. Every command
 * that picks, keeps or counts a backup goes through here.
 */
public final class Assessment {
    /** Files of a backup directory that the manifest does not list, because they describe it. */
    static final Set<String> OWN_FILES = Set.of(BackupManifest.FILE_NAME, "SHA256SUMS", VerificationRecord.FILE_NAME);
    /** How much of a legacy dump is read to find a CREATE or COPY: real dumps have one in the first kilobytes. */
    private static final int LEGACY_SCAN = 1 << 20;

    private Assessment() {
    }

    /** What is wrong with a backup directory's files, before any hashing: foreign paths, then damage. */
    public record Structure(List<String> foreign, List<String> damage) {
    }

    /** A file name as a manifest must give it: one plain name inside the backup's directory. */
    static boolean plainName(String name) {
        return name != null && !name.isEmpty() && !name.equals(".") && !name.equals("..")
                && name.indexOf('/') < 0 && name.indexOf('\\') < 0 && name.indexOf('\0') < 0;
    }

    /**
     * The directory form of {@link #structure(BackupManifest, java.util.Map)}: the same rules
     * over the directory's entries, and no link anywhere (a link could lead out of the
     * repository, so it makes the backup foreign).
     */
    public static Structure structure(Path dir, BackupManifest m) {
        if (Files.isSymbolicLink(dir)) {
            return new Structure(List.of("the backup directory is a link to " + target(dir)), List.of());
        }
        java.util.Map<String, Long> sizes = new java.util.HashMap<>();
        java.util.Map<String, String> links = new java.util.TreeMap<>();
        List<String> listing = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (Files.isSymbolicLink(p)) {
                    links.put(n, target(p));
                } else {
                    // Not a regular file (a directory, a socket): no size, so "missing" if named.
                    sizes.put(n, Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? p.toFile().length() : null);
                }
            }
        } catch (IOException e) {
            listing.add("cannot list the directory: " + e.getMessage());
        }
        Structure objects = structure(m, sizes);
        Set<String> named = new HashSet<>(OWN_FILES);
        if (m.files() != null) {
            m.files().forEach(f -> named.add(f.name()));
        }
        List<String> foreign = new ArrayList<>();
        links.forEach((n, t) -> foreign.add(named.contains(n) ? n + " is a link to " + t : n + " is a link to " + t + " that the manifest does not name"));
        foreign.addAll(objects.foreign());
        List<String> damage = new ArrayList<>(objects.damage());
        damage.addAll(listing);
        return new Structure(foreign, damage);
    }

    /** A backup directory with a readable manifest. */
    static StoredBackup directory(Path dir, BackupManifest m) {
        StoredBackup b = new StoredBackup(m.id(), m.database(), m.type(), m.finishedAt(), false, dir, m, BackupState.COMPLETE, null, null);
        Structure s = structure(dir, m);
        if (!s.foreign().isEmpty()) {
            return b.withState(BackupState.FOREIGN, String.join("; ", s.foreign()), null);
        }
        if (!s.damage().isEmpty()) {
            return b.withState(BackupState.DAMAGED, String.join("; ", s.damage()), null);
        }
        return judged(b, m, VerificationRecord.read(dir));
    }

    /** The state of a backup whose files are all there, from its last checksum verdict and its kind. */
    private static StoredBackup judged(StoredBackup b, BackupManifest m, VerificationRecord rec) {
        OffsetDateTime verified = null;
        if (rec != null) {
            if (!rec.ok()) {
                return b.withState(BackupState.DAMAGED, "checksum check at " + rec.verifiedAt() + ": " + String.join("; ", rec.problems()), null);
            }
            verified = rec.verifiedAt();
        }
        if ("schema".equals(m.type()) || "data".equals(m.type())) {
            return b.withState(BackupState.PARTIAL, "schema".equals(m.type()) ? "schema only" : "data of " + m.tables().size() + " table(s) only", verified);
        }
        if ("full".equals(m.type()) && (m.tables() == null || m.tables().isEmpty())) {
            return b.withState(BackupState.EMPTY, "no tables in the backup", verified);
        }
        return b.withState(verified != null ? BackupState.VERIFIED : BackupState.COMPLETE, null, verified);
    }

    /**
     * A backup on object storage with a readable manifest: the same rules as a directory's,
     * over the objects under its prefix (sizes from the listing; no links there).
     */
    static StoredBackup remote(Repository repo, String name, List<Storage.StoredObject> objects, BackupManifest m, byte[] manifestBytes) {
        StoredBackup b = new StoredBackup(m.id(), m.database(), m.type(), m.finishedAt(), false, null, m, BackupState.COMPLETE, null, null, name);
        java.util.Map<String, Long> sizes = new java.util.HashMap<>();
        for (Storage.StoredObject o : objects) {
            sizes.put(o.key().substring(name.length() + 1), o.size());
        }
        Structure s = structure(m, sizes);
        if (!s.foreign().isEmpty()) {
            return b.withState(BackupState.FOREIGN, String.join("; ", s.foreign()), null);
        }
        if (!s.damage().isEmpty()) {
            return b.withState(BackupState.DAMAGED, String.join("; ", s.damage()), null);
        }
        return judged(b, m, VerificationRecord.read(repo, name, manifestBytes));
    }

    /**
     * What is wrong with a backup's files, given each stored name and its size (null: there,
     * but not a regular file): every file the manifest names present at its recorded size,
     * its main file named, SHA256SUMS there, and nothing the manifest does not name.
     */
    static Structure structure(BackupManifest m, java.util.Map<String, Long> sizes) {
        List<String> foreign = new ArrayList<>();
        List<String> damage = new ArrayList<>();
        Set<String> named = new HashSet<>(OWN_FILES);
        if (m.files() == null || m.files().isEmpty()) {
            damage.add("the manifest lists no files");
        } else {
            for (BackupManifest.FileEntry f : m.files()) {
                if (!plainName(f.name())) {
                    foreign.add("the manifest names '" + f.name() + "', a path outside the backup's directory");
                    continue;
                }
                named.add(f.name());
                Long size = sizes.get(f.name());
                if (size == null) {
                    damage.add(f.name() + " is missing");
                } else if (size != f.bytes()) {
                    damage.add(f.name() + ": " + size + " bytes, the manifest says " + f.bytes() + " (truncated or replaced)");
                }
            }
            String main = "physical".equals(m.type()) ? "base" : "dump";
            if (m.file(main) == null) {
                damage.add("the manifest lists no " + main + " file");
            }
        }
        if (sizes.get("SHA256SUMS") == null) {
            damage.add("SHA256SUMS is missing");
        }
        List<String> unnamed = sizes.keySet().stream().filter(n -> !named.contains(n)).sorted().toList();
        if (!unnamed.isEmpty()) {
            damage.add("holds files the manifest does not name: " + String.join(", ", unnamed));
        }
        return new Structure(foreign, damage);
    }

    /** A backup directory whose manifest cannot be read: damaged, known by its directory's name. */
    static StoredBackup unreadable(Path dir, String database, String type, OffsetDateTime time, String why) {
        if (Files.isSymbolicLink(dir)) {
            return new StoredBackup(dir.getFileName().toString(), database, type, time, false, dir, null, BackupState.FOREIGN,
                    "the backup directory is a link to " + target(dir), null);
        }
        return new StoredBackup(dir.getFileName().toString(), database, type, time, false, dir, null, BackupState.DAMAGED, why, null);
    }

    /**
     * A legacy file (the runbook's pg_dump | gzip): damaged if its start cannot be read
     * (a truncated gzip), empty if it holds no CREATE or COPY (what a failed pg_dump leaves).
     */
    static StoredBackup legacy(Path file, String database, String type, OffsetDateTime time) {
        StoredBackup b = new StoredBackup(file.getFileName().toString(), database, type, time, true, file, null,
                BackupState.COMPLETE, "legacy file without a manifest: no checksums or row counts", null);
        if (Files.isSymbolicLink(file)) {
            return b.withState(BackupState.FOREIGN, "a link to " + target(file), null);
        }
        if (file.toFile().length() == 0) {
            return b.withState(BackupState.EMPTY, "an empty file", null);
        }
        String scan = scanLegacy(file);
        if (scan != null) {
            return b.withState(scan.startsWith("unreadable") ? BackupState.DAMAGED : BackupState.EMPTY, scan, null);
        }
        if (!"full".equals(type)) {
            return b.withState(BackupState.PARTIAL, type + " only, legacy file without a manifest", null);
        }
        return b;
    }

    /** Null when the dump's start holds a CREATE, COPY or INSERT; else why it is no dump. */
    private static String scanLegacy(Path file) {
        byte[] buf = new byte[LEGACY_SCAN];
        int n = 0;
        try (InputStream in = Compression.decompress(Compression.ofFile(file.getFileName().toString()),
                new BufferedInputStream(Files.newInputStream(file)))) {
            for (int r; n < buf.length && (r = in.read(buf, n, buf.length - n)) > 0; ) {
                n += r;
            }
            String text = new String(buf, 0, n, StandardCharsets.ISO_8859_1);
            if (text.contains("CREATE ") || text.contains("COPY ") || text.contains("INSERT INTO")) {
                return null;
            }
            if (n == buf.length) {
                return null; // a megabyte of SQL without a statement we know: not ours to call empty
            }
            return n == 0 ? "no SQL in it (" + file.toFile().length() + " bytes, nothing when decompressed)"
                    : "no CREATE or COPY statement in it (" + n + " bytes of SQL)";
        } catch (IOException | RuntimeException e) {
            String text = new String(buf, 0, n, StandardCharsets.ISO_8859_1);
            if (text.contains("CREATE ") || text.contains("COPY ")) {
                return "unreadable after " + n + " bytes: " + e.getMessage();
            }
            return "unreadable: " + e.getMessage();
        }
    }

    private static String target(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "?";
        }
    }
}
