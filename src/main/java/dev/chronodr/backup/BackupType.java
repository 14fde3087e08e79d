package dev.chronodr.backup;

import java.util.Locale;

import dev.chronodr.core.ChronoException;

/** Logical backup types, as the runbook names them. */
public enum BackupType {
    /** Schema and data of the whole database, plus the cluster's roles and tablespaces. */
    FULL,
    /** Schema only (before a migration). */
    SCHEMA,
    /** Data of chosen tables only. */
    DATA;

    public static BackupType parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            String hint = s.equalsIgnoreCase("incremental") || s.equalsIgnoreCase("physical")
                    ? "physical and incremental backups need WAL archiving (point-in-time recovery), which this build does not have yet; use full"
                    : "use full, schema or data";
            throw ChronoException.usage("unknown backup type '" + s + "'", hint);
        }
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
