package dev.chronodr.repo;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Status;
import dev.chronodr.crypto.OpenPgp;
import dev.chronodr.crypto.SecretKeys;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.PgVersion;

/**
 * Proves a stored backup is sound without restoring it: every file's SHA-256 against the
 * manifest, the archive's table of contents readable by pg_restore, and the tables in it
 * the ones the manifest lists. A legacy file has no manifest: only readability.
 */
public final class BackupVerifier {
    private final Function<PgVersion, PgTools> tools;
    private final SecretKeys keys;

    /** @param tools pg_restore runner for a backup taken from a server of that version */
    public BackupVerifier(Function<PgVersion, PgTools> tools) {
        this(tools, null);
    }

    /**
     * @param keys the secret keys that open encrypted backups (--decrypt-key); null when none
     *             was given: an encrypted backup's stored bytes are then checked, its content not
     */
    public BackupVerifier(Function<PgVersion, PgTools> tools, SecretKeys keys) {
        this.tools = tools;
        this.keys = keys;
    }

    /** Is the content of this backup left unchecked for want of a key (its stored bytes are checked all the same)? */
    public static boolean contentUnchecked(StoredBackup backup, SecretKeys keys) {
        return keys == null && backup.manifest() != null && backup.manifest().encryption() != null;
    }

    public record Result(String id, Status status, List<String> problems, int filesChecked, int tocEntries,
                         long bytesRead, Duration elapsed) {
        public boolean ok() {
            return status == Status.OK;
        }
    }

    /**
     * Everything: the directory's structure ({@link Assessment#structure}), every file's
     * SHA-256, and the archive's table of contents.
     */
    public Result verify(StoredBackup backup) {
        return verify(null, backup);
    }

    /** {@link #verify(StoredBackup)} for a backup of {@code repo}, read through its storage when it has no directory. */
    public Result verify(Repository repo, StoredBackup backup) {
        return verify(repo, backup, false);
    }

    /**
     * {@link #verify(Repository, StoredBackup)} of a backup whose files this process has just
     * checked against their SHA-256 ({@link BackupCatalog#proveNewestForRestore}, which chose
     * it): the structure and the archive's table of contents are checked, the files are not
     * hashed a second time.
     */
    public Result verifyProven(Repository repo, StoredBackup backup) {
        return verify(repo, backup, true);
    }

    private Result verify(Repository repo, StoredBackup backup, boolean sumsProven) {
        long t0 = System.nanoTime();
        if (backup.legacy()) {
            return legacy(backup, t0);
        }
        BackupManifest m = backup.manifest();
        if (m == null || backup.state() == BackupState.FOREIGN) {
            return new Result(backup.id(), Status.CRITICAL, List.of(backup.reason()), 0, 0, 0, since(t0));
        }
        boolean remote = backup.path() == null;
        if (remote && repo == null) {
            throw new IllegalArgumentException("a backup on object storage is verified with its repository");
        }
        Assessment.Structure structure = remote ? Assessment.structure(m, sizes(repo, backup)) : Assessment.structure(backup.path(), m);
        List<String> problems = new ArrayList<>(structure.damage());
        Sums sums = sumsProven && structure.damage().isEmpty()
                ? new Sums(List.of(), m.files().size(), m.files().stream().mapToLong(BackupManifest.FileEntry::bytes).sum())
                : hash(repo, backup);
        problems.addAll(sums.problems());
        int toc = 0;
        BackupManifest.FileEntry dump = m.file("dump");
        boolean encrypted = dump != null && m.encrypted(dump);
        if (problems.isEmpty() && dump != null && "custom".equals(m.archiveFormat()) && !(encrypted && keys == null)) {
            Source stored = remote ? () -> repo.storage().read(backup.key() + "/" + dump.name())
                    : () -> Files.newInputStream(backup.path().resolve(dump.name()));
            try {
                String list = listArchive(dump.name(), encrypted ? decrypting(stored, dump.name(), m) : stored,
                        new PgVersion(m.serverVersionNum()));
                toc = (int) list.lines().filter(l -> !l.startsWith(";") && !l.isBlank()).count();
                if (!"schema".equals(m.type())) {
                    for (BackupManifest.TableEntry t : m.tables()) {
                        if (!list.contains(" TABLE DATA " + t.schema() + " " + t.name() + " ")) {
                            problems.add("table " + t.qualifiedName() + " is in the manifest but not in the archive");
                        }
                    }
                }
            } catch (ChronoException e) {
                if (encrypted && e.exitCode() == dev.chronodr.core.ExitCode.UNKNOWN) {
                    // the key given does not open it: the content could not be checked, which is not damage
                    return new Result(backup.id(), Status.UNKNOWN, List.of(e.getMessage()), sums.checked(), 0, sums.bytes(), since(t0));
                }
                problems.add((encrypted && e.exitCode() == dev.chronodr.core.ExitCode.CRITICAL ? "" : "archive unreadable by pg_restore: ")
                        + e.getMessage());
            }
        }
        return new Result(backup.id(), problems.isEmpty() ? Status.OK : Status.CRITICAL, problems, sums.checked(), toc, sums.bytes(), since(t0));
    }

    private record Sums(List<String> problems, int checked, long bytes) {
    }

    private static java.util.Map<String, Long> sizes(Repository repo, StoredBackup backup) {
        java.util.Map<String, Long> sizes = new java.util.HashMap<>();
        try {
            for (Storage.StoredObject o : repo.storage().list(backup.key())) {
                sizes.put(o.key().substring(backup.key().length() + 1), o.size());
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot list backup " + backup.id() + " in " + repo.location() + ": " + e.getMessage(), null);
        }
        return sizes;
    }

    /** Every object the manifest names, on object storage, against its size and SHA-256, streamed. */
    private static Sums hashRemote(Repository repo, StoredBackup backup) {
        List<String> problems = new ArrayList<>();
        long bytes = 0;
        int checked = 0;
        java.util.Map<String, Long> sizes = sizes(repo, backup);
        for (BackupManifest.FileEntry f : backup.manifest().files()) {
            if (!Assessment.plainName(f.name())) {
                problems.add("the manifest names '" + f.name() + "', a path outside the backup's directory: not read");
                continue;
            }
            Long size = sizes.get(f.name());
            if (size == null) {
                problems.add(f.name() + ": missing");
                continue;
            }
            if (size != f.bytes()) {
                problems.add(f.name() + ": " + size + " bytes, manifest says " + f.bytes() + " (truncated or replaced)");
                continue;
            }
            MessageDigest md = newSha256();
            try (InputStream in = new DigestInputStream(repo.storage().read(backup.key() + "/" + f.name()), md)) {
                in.transferTo(OutputStream.nullOutputStream());
            } catch (NoSuchFileException e) {
                problems.add(f.name() + ": missing");
                continue;
            } catch (IOException e) {
                problems.add(f.name() + ": unreadable (" + e.getMessage() + ")");
                continue;
            }
            String sha = HexFormat.of().formatHex(md.digest());
            bytes += size;
            checked++;
            if (!sha.equals(f.sha256())) {
                problems.add(f.name() + ": SHA-256 " + sha.substring(0, 16) + "... does not match the manifest's "
                        + (f.sha256() == null ? "null" : f.sha256().substring(0, Math.min(16, f.sha256().length()))) + "...");
            }
        }
        if (backup.manifest().files().isEmpty()) {
            problems.add("the manifest lists no files");
        }
        return new Sums(problems, checked, bytes);
    }

    /** Every file the manifest names, inside the backup's directory, against its size and SHA-256. */
    private static Sums hash(Repository repo, StoredBackup backup) {
        if (backup.path() == null) {
            return hashRemote(repo, backup);
        }
        List<String> problems = new ArrayList<>();
        long bytes = 0;
        int checked = 0;
        for (BackupManifest.FileEntry f : backup.manifest().files()) {
            if (!Assessment.plainName(f.name())) {
                problems.add("the manifest names '" + f.name() + "', a path outside the backup's directory: not read");
                continue;
            }
            Path p = backup.path().resolve(f.name());
            if (Files.isSymbolicLink(p)) {
                problems.add(f.name() + " is a link: not read");
                continue;
            }
            try {
                long size = Files.size(p);
                if (size != f.bytes()) {
                    problems.add(f.name() + ": " + size + " bytes, manifest says " + f.bytes() + " (truncated or replaced)");
                    continue;
                }
                String sha = sha256(p);
                bytes += size;
                checked++;
                if (!sha.equals(f.sha256())) {
                    problems.add(f.name() + ": SHA-256 " + sha.substring(0, 16) + "... does not match the manifest's "
                            + (f.sha256() == null ? "null" : f.sha256().substring(0, Math.min(16, f.sha256().length()))) + "...");
                }
            } catch (NoSuchFileException e) {
                problems.add(f.name() + ": missing");
            } catch (IOException e) {
                problems.add(f.name() + ": unreadable (" + e.getMessage() + ")");
            }
        }
        if (backup.manifest().files().isEmpty()) {
            problems.add("the manifest lists no files");
        }
        return new Sums(problems, checked, bytes);
    }

    /**
     * The checksum check every command that relies on a backup runs first: each file's size
     * and SHA-256 against the manifest (a legacy file: read to its end, so a truncated gzip
     * fails). No database or client tool is needed. Problems found; empty when it passes.
     * The verdict is recorded beside the backup.
     */
    public static List<String> checksums(Repository repo, StoredBackup backup) {
        if (backup.legacy()) {
            try (InputStream in = Compression.decompress(Compression.ofFile(backup.id()), new BufferedInputStream(Files.newInputStream(backup.path())))) {
                in.transferTo(OutputStream.nullOutputStream());
                return List.of();
            } catch (IOException e) {
                return List.of("unreadable: " + e.getMessage());
            }
        }
        if (backup.manifest() == null || backup.state() == BackupState.FOREIGN) {
            return List.of(backup.reason());
        }
        List<String> problems = hash(repo, backup).problems();
        repo.recordVerification(backup, problems.isEmpty(), problems, "checksums");
        return problems;
    }

    private Result legacy(StoredBackup backup, long t0) {
        // Plain SQL, maybe gzipped: read it to the end; a truncated gzip fails here.
        try (InputStream in = Compression.decompress(Compression.ofFile(backup.id()), new BufferedInputStream(Files.newInputStream(backup.path())))) {
            long n = in.transferTo(OutputStream.nullOutputStream());
            return new Result(backup.id(), Status.WARNING, List.of("legacy backup: readable (" + n + " bytes of SQL), but no manifest to check it against"),
                    1, 0, Files.size(backup.path()), since(t0));
        } catch (IOException e) {
            return new Result(backup.id(), Status.CRITICAL, List.of("legacy backup unreadable: " + e.getMessage()), 1, 0, 0, since(t0));
        }
    }

    /** pg_restore --list with the decompressed archive on its stdin. */
    String listArchive(Path dump, PgVersion server) {
        return listArchive(dump.getFileName().toString(), () -> Files.newInputStream(dump), server);
    }

    /**
     * The stored file's plaintext. The header is read and the session key opened here, in the
     * caller's thread, before pg_restore starts: a missing or wrong key is the exit-3 error
     * naming the fingerprint it needs, not a failure of pg_restore's input.
     */
    private Source decrypting(Source stored, String name, BackupManifest m) {
        InputStream plain;
        InputStream in = null;
        try {
            in = new BufferedInputStream(stored.open(), 1 << 20);
            plain = OpenPgp.decrypt(in, keys, name, m.encryption().recipients());
        } catch (IOException e) {
            closeQuietly(in);
            throw ChronoException.failed(name + ": unreadable (" + e.getMessage() + ")", null);
        } catch (RuntimeException e) {
            closeQuietly(in);
            throw e;
        }
        boolean[] used = {false};
        return () -> {
            if (used[0]) {
                throw new IOException(name + " is read once");
            }
            used[0] = true;
            return plain;
        };
    }

    private static void closeQuietly(InputStream in) {
        if (in != null) {
            try {
                in.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
        }
    }

    /** Opens a stored file's bytes. */
    interface Source {
        InputStream open() throws IOException;
    }

    private String listArchive(String name, Source dump, PgVersion server) {
        PgTools t = tools.apply(server);
        Compression.Method method = Compression.ofFile(BackupManifest.plainName(name));
        return t.run(t.spec(PgTool.PG_RESTORE, List.of("--list"))
                .withTimeout(Duration.ofHours(2))
                .withStdin(out -> {
                    try (InputStream in = Compression.decompress(method, new BufferedInputStream(dump.open(), 1 << 20))) {
                        in.transferTo(out);
                    }
                })).stdout();
    }

    /** The SHA-256 of a file's bytes, as SHA256SUMS and the manifest record it. */
    public static String sha256(Path p) throws IOException {
        MessageDigest md = newSha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(p), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** A fresh SHA-256 digest (every JVM has one). */
    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Duration since(long t0) {
        return Duration.ofNanos(System.nanoTime() - t0);
    }
}
