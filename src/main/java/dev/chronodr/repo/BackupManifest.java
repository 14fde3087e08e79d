package dev.chronodr.repo;

import java.time.OffsetDateTime;
import java.util.List;

/**
 * What a backup is, written beside its files as manifest.json. Restore and verify rely
 * on it: the checksums of every file, and the row count of every table taken in the
 * same snapshot as the dump.
 */
public record BackupManifest(
        int formatVersion,
        String id,
        String type,
        String label,
        String database,
        String host,
        int port,
        String serverVersion,
        int serverVersionNum,
        String pgDumpVersion,
        String chronoDrVersion,
        OffsetDateTime startedAt,
        OffsetDateTime finishedAt,
        long durationMs,
        String compression,
        String archiveFormat,
        List<TableEntry> tables,
        List<FileEntry> files,
        Globals globals,
        Encryption encryption,
        DumpSession dumpSession) {

    /** Without the dump session (manifests before issue 23, and base backups). */
    public BackupManifest(int formatVersion, String id, String type, String label, String database, String host, int port,
                          String serverVersion, int serverVersionNum, String pgDumpVersion, String chronoDrVersion,
                          OffsetDateTime startedAt, OffsetDateTime finishedAt, long durationMs, String compression,
                          String archiveFormat, List<TableEntry> tables, List<FileEntry> files, Globals globals, Encryption encryption) {
        this(formatVersion, id, type, label, database, host, port, serverVersion, serverVersionNum, pgDumpVersion, chronoDrVersion,
                startedAt, finishedAt, durationMs, compression, archiveFormat, tables, files, globals, encryption, null);
    }

    /** A manifest of a backup stored unencrypted (written without the encryption field). */
    public BackupManifest(int formatVersion, String id, String type, String label, String database, String host, int port,
                          String serverVersion, int serverVersionNum, String pgDumpVersion, String chronoDrVersion,
                          OffsetDateTime startedAt, OffsetDateTime finishedAt, long durationMs, String compression,
                          String archiveFormat, List<TableEntry> tables, List<FileEntry> files, Globals globals) {
        this(formatVersion, id, type, label, database, host, port, serverVersion, serverVersionNum, pgDumpVersion, chronoDrVersion,
                startedAt, finishedAt, durationMs, compression, archiveFormat, tables, files, globals, null);
    }

    public static final int FORMAT_VERSION = 1;
    public static final String FILE_NAME = "manifest.json";

    /**
     * One table as dumped; {@code rows} is null for schema-only backups, {@code digest}
     * (see pg.TableDigest) is present for the tables digested at backup time.
     */
    public record TableEntry(String schema, String name, Long rows, String digest) {
        public TableEntry(String schema, String name, Long rows) {
            this(schema, name, rows, null);
        }

        public String qualifiedName() {
            return schema + "." + name;
        }
    }

    /**
     * One file of the backup, with the checksum of the bytes on disk. {@code frames}: its zstd
     * frames when it was written as more than one ({@link FramedZstdOutputStream}) and is not
     * encrypted (an encrypted file's frames are inside the OpenPGP message, where no stored offset
     * reaches them); absent in older backups.
     */
    public record FileEntry(String name, String role, long bytes, long uncompressedBytes, String sha256, String compression,
                            List<Frame> frames) {
        public FileEntry(String name, String role, long bytes, long uncompressedBytes, String sha256, String compression) {
            this(name, role, bytes, uncompressedBytes, sha256, compression, null);
        }
    }

    /** One zstd frame of a file: its stored length, and the length of what it decompresses to. */
    public record Frame(long stored, long plain) {
    }

    /**
     * How a logical backup's rows were counted and its digests taken (issue 23): the settings
     * pinned in pg_dump's session (its COPY text depends on them), the archive version read,
     * {@code counts} "archive stream" or "count(*)" and why, and what the tables' digests
     * are ({@code c256:} SHA-256 of each table's COPY text) or why there are none.
     */
    public record DumpSession(java.util.Map<String, String> settings, String archiveVersion, String counts, String digests) {
    }

    /** Cluster-wide objects saved beside a full backup. */
    public record Globals(boolean included, boolean rolePasswordsIncluded, String reason) {
    }

    /**
     * How the data files are encrypted (issue 19), absent when they are not: OpenPGP to these
     * recipients, after compression; each encrypted file's name ends in {@link #ENCRYPTED_SUFFIX},
     * and its {@code bytes} and {@code sha256} are those of the stored (encrypted) bytes, so the
     * stored objects are checked without the key. The manifest itself stays readable.
     */
    public record Encryption(String format, List<dev.chronodr.crypto.Recipient> recipients) {
        public static final String OPENPGP = "openpgp";

        public List<String> fingerprints() {
            return recipients.stream().map(dev.chronodr.crypto.Recipient::fingerprint).toList();
        }
    }

    /** The suffix of an encrypted file's name: database.dump.zst.gpg, as gpg names what it writes. */
    public static final String ENCRYPTED_SUFFIX = ".gpg";

    /** Is this file of the backup stored encrypted? */
    public boolean encrypted(FileEntry f) {
        return encryption != null && f.name().endsWith(ENCRYPTED_SUFFIX);
    }

    /** A file's name without the encryption suffix: what its compression is read from. */
    public static String plainName(String name) {
        return name.endsWith(ENCRYPTED_SUFFIX) ? name.substring(0, name.length() - ENCRYPTED_SUFFIX.length()) : name;
    }

    public FileEntry file(String role) {
        return files.stream().filter(f -> f.role().equals(role)).findFirst().orElse(null);
    }

    public long totalBytes() {
        return files.stream().mapToLong(FileEntry::bytes).sum();
    }
}
