package dev.chronodr.restore;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.core.ChronoException;
import dev.chronodr.crypto.OpenPgp;
import dev.chronodr.crypto.SecretKeys;
import dev.chronodr.repo.Assessment;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.BackupState;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StoredBackup;
import dev.chronodr.core.Json;

/**
 * A dump to restore, resolved from --latest, --backup-id or --backup-file: the file (or
 * directory) pg_restore/psql reads, how it is compressed as a whole, its format, and the
 * chrono-dr manifest when there is one (checksums and row counts come from it), and, for a
 * parallel restore of a compressed custom archive, the verified decompressed copy pg_restore
 * reads instead ({@code unpacked}, null otherwise).
 */
public record RestoreSource(String id, String database, ArchiveFormat format, String compression,
                            @JsonIgnore Path dump, @JsonIgnore Path backupDir, @JsonIgnore BackupManifest manifest,
                            @JsonIgnore Path unpacked, @JsonIgnore boolean checksummed, @JsonIgnore List<String> passedOver,
                            @JsonIgnore SecretKeys keys) {

    public RestoreSource(String id, String database, ArchiveFormat format, String compression, Path dump, Path backupDir,
                         BackupManifest manifest) {
        this(id, database, format, compression, dump, backupDir, manifest, null, false, List.of(), null);
    }

    public RestoreSource withUnpacked(Path copy) {
        return new RestoreSource(id, database, format, compression, dump, backupDir, manifest, copy, checksummed, passedOver, keys);
    }

    /** Chosen by --latest after its checksum check passed; the newer backups passed over, and why. */
    private RestoreSource proven(List<String> newerPassedOver) {
        return new RestoreSource(id, database, format, compression, dump, backupDir, manifest, unpacked, true, List.copyOf(newerPassedOver), keys);
    }

    /** Are the backup's files stored encrypted (its manifest says to whom)? */
    @JsonIgnore
    public boolean encrypted() {
        return manifest != null && manifest.encryption() != null;
    }

    /**
     * The source with the secret keys that open it (null: none given). For an encrypted backup
     * the dump's header is read now and its session key opened, before anything is touched: a
     * missing or wrong key is exit 3 naming the fingerprint it needs and the option that takes it.
     */
    public RestoreSource withKeys(SecretKeys secretKeys) {
        RestoreSource with = new RestoreSource(id, database, format, compression, dump, backupDir, manifest, unpacked, checksummed,
                passedOver, secretKeys);
        if (encrypted()) {
            try (InputStream probe = with.openStored(dump)) {
                // opening it is the check
            } catch (IOException e) {
                throw ChronoException.failed("cannot read " + dump + ": " + e.getMessage() + "; nothing was touched", null);
            }
        }
        return with;
    }

    /** A stored file of the backup as its plaintext: decrypted when the backup is encrypted, still compressed. */
    InputStream openStored(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20);
        if (!encrypted() || !file.getFileName().toString().endsWith(BackupManifest.ENCRYPTED_SUFFIX)) {
            return in;
        }
        try {
            return OpenPgp.decrypt(in, keys, id + "/" + file.getFileName(), manifest.encryption().recipients());
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /** Another file of the backup (the globals), decrypted and decompressed. */
    InputStream openFile(String name) throws IOException {
        return Compression.decompress(Compression.ofFile(BackupManifest.plainName(name)), openStored(backupDir.resolve(name)));
    }

    private static final Logger log = LoggerFactory.getLogger(RestoreSource.class);
    private static final byte[] CUSTOM_MAGIC = "PGDMP".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    @com.fasterxml.jackson.annotation.JsonProperty
    public String location() {
        return (backupDir != null ? backupDir : dump).toString();
    }

    @JsonIgnore
    public Compression.Method method() {
        return Compression.Method.valueOf(compression.toUpperCase(java.util.Locale.ROOT));
    }

    /** Opens the dump decompressed (not for directory archives). */
    public InputStream open() throws IOException {
        return Compression.decompress(method(), openStored(dump));
    }

    /**
     * --latest: the newest full backup of {@code database} that passes a checksum check now.
     * Newer ones that are damaged, empty or foreign are passed over and named.
     */
    public static RestoreSource latest(Repository repo, String database) {
        BackupCatalog catalog = BackupCatalog.of(repo);
        List<StoredBackup> fulls = catalog.fullBackupsOf(database);
        BackupCatalog.Proof proof = catalog.proveNewestForRestore(fulls);
        StoredBackup chosen = proof.backup().orElseThrow(() -> ChronoException.failed(
                (fulls.isEmpty() ? "no full backup of database " + database + " in " + repo.location()
                        : "no full backup of database " + database + " in " + repo.location() + " can be restored: "
                        + String.join(", ", proof.passedOver().subList(0, Math.min(3, proof.passedOver().size())))
                        + (proof.passedOver().size() > 3 ? " and " + (proof.passedOver().size() - 3) + " more" : "")) + "; nothing was touched",
                "run 'chrono-dr list --repo " + repo.location() + "' to see what is there, or pass --backup-file"));
        for (String p : proof.passedOver()) {
            log.warn("passed over newer backup {}", p);
        }
        return of(repo, chosen).proven(proof.passedOver());
    }

    /** --backup-id: a backup (or legacy file name) in the repository. */
    public static RestoreSource byId(Repository repo, String id) {
        StoredBackup b = repo.find(id).orElseThrow(() -> ChronoException.usage("no backup with id '" + id + "' in " + repo.location(),
                "run 'chrono-dr list --repo " + repo.location() + "' for the ids"));
        if (b.state() == BackupState.DAMAGED || b.state() == BackupState.FOREIGN) {
            throw ChronoException.failed("backup " + id + " cannot be restored: " + b.state().label() + ": " + b.reason() + "; nothing was touched",
                    "choose another backup (chrono-dr list)");
        }
        return of(repo, b);
    }

    /** A backup on object storage is copied into the local spool first: pg_restore -j needs a file it can seek in. */
    static RestoreSource of(Repository repo, StoredBackup b) {
        if (b.manifest() != null) {
            return fromManifest(b.path() != null ? b.path() : repo.localCopy(b), b.manifest());
        }
        return fromFile(b.path(), b.id(), b.database());
    }

    /** --backup-file: a chrono-dr backup directory or its dump, a directory archive, or a single dump file. */
    public static RestoreSource fromPath(Path path) {
        Path p = path.toAbsolutePath().normalize();
        if (!Files.exists(p)) {
            throw ChronoException.usage("backup file " + p + " does not exist", "check the path; 'chrono-dr list' shows the repository's backups");
        }
        if (Files.isDirectory(p)) {
            if (Files.isRegularFile(p.resolve(BackupManifest.FILE_NAME))) {
                return fromManifest(p, readManifest(p));
            }
            if (Files.isRegularFile(p.resolve("toc.dat"))) {
                return new RestoreSource(p.getFileName().toString(), null, ArchiveFormat.DIRECTORY, "none", p, null, null);
            }
            throw ChronoException.usage(p + " is a directory but neither a chrono-dr backup (manifest.json) nor a pg_dump directory archive (toc.dat)",
                    "pass the backup directory, its dump file, or a dump file");
        }
        Path parent = p.getParent();
        if (parent != null && Files.isRegularFile(parent.resolve(BackupManifest.FILE_NAME))) {
            BackupManifest m = readManifest(parent);
            BackupManifest.FileEntry dump = m.file("dump");
            if (dump != null && dump.name().equals(p.getFileName().toString())) {
                return fromManifest(parent, m);
            }
        }
        return fromFile(p, p.getFileName().toString(), null);
    }

    private static BackupManifest readManifest(Path dir) {
        try {
            return Json.mapper().readValue(dir.resolve(BackupManifest.FILE_NAME).toFile(), BackupManifest.class);
        } catch (IOException e) {
            throw ChronoException.failed("manifest of " + dir + " is unreadable: " + e.getMessage(), "the backup is damaged; choose another");
        }
    }

    private static RestoreSource fromManifest(Path dir, BackupManifest m) {
        List<String> foreign = Assessment.structure(dir, m).foreign();
        if (!foreign.isEmpty()) {
            throw ChronoException.failed("backup " + dir + " is not to be trusted: " + String.join("; ", foreign) + "; nothing was touched",
                    "choose another backup");
        }
        BackupManifest.FileEntry dump = m.file("dump");
        if (dump == null) {
            throw ChronoException.failed("manifest of " + dir + " lists no dump file", "the backup is damaged; choose another");
        }
        String method = Compression.ofFile(BackupManifest.plainName(dump.name())).name().toLowerCase(java.util.Locale.ROOT);
        return new RestoreSource(m.id(), m.database(), ArchiveFormat.CUSTOM, method, dir.resolve(dump.name()), dir, m);
    }

    /** A single file: compression by its name, format by its first bytes (PGDMP = custom archive). */
    private static RestoreSource fromFile(Path file, String id, String database) {
        if (file.getFileName().toString().endsWith(BackupManifest.ENCRYPTED_SUFFIX)) {
            throw ChronoException.usage(file + " is an encrypted file on its own: restore reads an encrypted backup through its manifest",
                    "pass the backup's directory (or --backup-id) with --decrypt-key, or decrypt it first: gpg --decrypt FILE | zstd -d > FILE.dump");
        }
        Compression.Method method = Compression.ofFile(file.getFileName().toString());
        RestoreSource probe = new RestoreSource(id, database, ArchiveFormat.PLAIN, method.name().toLowerCase(java.util.Locale.ROOT), file, null, null);
        byte[] head = new byte[CUSTOM_MAGIC.length];
        try (InputStream in = probe.open()) {
            int n = in.readNBytes(head, 0, head.length);
            if (n == head.length && Arrays.equals(head, CUSTOM_MAGIC)) {
                return new RestoreSource(id, database, ArchiveFormat.CUSTOM, probe.compression(), file, null, null);
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot read " + file + ": " + e.getMessage(), "the file is damaged or not a dump");
        }
        return probe;
    }
}
