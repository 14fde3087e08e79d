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
        Globals globals) {

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

    /** One file of the backup, with the checksum of the bytes on disk. */
    public record FileEntry(String name, String role, long bytes, long uncompressedBytes, String sha256, String compression) {
    }

    /** Cluster-wide objects saved beside a full backup. */
    public record Globals(boolean included, boolean rolePasswordsIncluded, String reason) {
    }

    public FileEntry file(String role) {
        return files.stream().filter(f -> f.role().equals(role)).findFirst().orElse(null);
    }

    public long totalBytes() {
        return files.stream().mapToLong(FileEntry::bytes).sum();
    }
}
