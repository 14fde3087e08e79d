package dev.chronodr.backup;

import java.time.Duration;
import java.util.List;

import dev.chronodr.crypto.Recipients;
import dev.chronodr.repo.Compression;

/**
 * What to back up. {@code tables} applies to the data type only. {@code digestTables}
 * names tables (name or schema.name) whose content digest goes into the manifest;
 * {@code digestAll} digests every table (for drills: costs one more scan per table).
 * {@code lockTimeout} bounds every wait for a table lock (row counts and pg_dump alike).
 * {@code encryptTo}: the OpenPGP recipients every stored file is encrypted to, after
 * compression; null stores them unencrypted.
 */
public record BackupRequest(BackupType type, List<String> tables, String label, Compression compression, Integer retentionDays,
                            List<String> digestTables, boolean digestAll, Duration lockTimeout, Recipients encryptTo) {
    public static final Duration DEFAULT_LOCK_TIMEOUT = dev.chronodr.config.BackupSection.DEFAULT_LOCK_TIMEOUT;

    public BackupRequest {
        if (lockTimeout == null) {
            lockTimeout = DEFAULT_LOCK_TIMEOUT;
        }
        if (lockTimeout.toMillis() < 1000) {
            throw new IllegalArgumentException("lock timeout must be at least one second");
        }
    }

    /** Stored unencrypted. */
    public BackupRequest(BackupType type, List<String> tables, String label, Compression compression, Integer retentionDays,
                         List<String> digestTables, boolean digestAll, Duration lockTimeout) {
        this(type, tables, label, compression, retentionDays, digestTables, digestAll, lockTimeout, null);
    }

    /** The same request, its files encrypted to {@code recipients} (null: stored unencrypted). */
    public BackupRequest encryptedTo(Recipients recipients) {
        return new BackupRequest(type, tables, label, compression, retentionDays, digestTables, digestAll, lockTimeout, recipients);
    }

    public BackupRequest(BackupType type, List<String> tables, String label, Compression compression, Integer retentionDays,
                         List<String> digestTables, boolean digestAll) {
        this(type, tables, label, compression, retentionDays, digestTables, digestAll, DEFAULT_LOCK_TIMEOUT);
    }

    public BackupRequest(BackupType type, List<String> tables, String label, Compression compression, Integer retentionDays) {
        this(type, tables, label, compression, retentionDays, List.of(), false);
    }

    boolean digests(String schema, String name) {
        return digestAll || digestTables.contains(name) || digestTables.contains(schema + "." + name);
    }
}
