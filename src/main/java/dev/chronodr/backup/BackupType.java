package dev.chronodr.backup;

import java.util.Locale;

import dev.chronodr.core.ChronoException;

/** Backup types, as the runbook names them; PHYSICAL and INCREMENTAL are served by PhysicalBackupService and IncrementalBackupService in this package. */
public enum BackupType {
    /** Schema and data of the whole database, plus the cluster's roles and tablespaces. */
    FULL,
    /** Schema only (before a migration). */
    SCHEMA,
    /** Data of chosen tables only. */
    DATA,
    /** A base backup of the whole cluster (pg_basebackup), for point-in-time recovery. */
    PHYSICAL,
    /** A WAL switch that makes everything up to now recoverable from the last base backup. */
    INCREMENTAL;

    public static BackupType parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ChronoException.usage("unknown backup type '" + s + "'", "use full, schema, data, physical or incremental");
        }
    }

    /** Served by point-in-time recovery (pg_basebackup and the WAL archive), not pg_dump. */
    public boolean physical() {
        return this == PHYSICAL || this == INCREMENTAL;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
