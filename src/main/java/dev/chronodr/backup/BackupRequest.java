package dev.chronodr.backup;

import java.util.List;

import dev.chronodr.repo.Compression;

/**
 * What to back up. {@code tables} applies to the data type only. {@code digestTables}
 * names tables (name or schema.name) whose content digest goes into the manifest;
 * {@code digestAll} digests every table (for drills: costs one more scan per table).
 */
public record BackupRequest(BackupType type, List<String> tables, String label, Compression compression, Integer retentionDays,
                            List<String> digestTables, boolean digestAll) {

    public BackupRequest(BackupType type, List<String> tables, String label, Compression compression, Integer retentionDays) {
        this(type, tables, label, compression, retentionDays, List.of(), false);
    }

    boolean digests(String schema, String name) {
        return digestAll || digestTables.contains(name) || digestTables.contains(schema + "." + name);
    }
}
