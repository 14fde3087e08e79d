package dev.chronodr.backup;

import java.util.List;

import dev.chronodr.repo.Compression;

/** What to back up. {@code tables} applies to the data type only. */
public record BackupRequest(BackupType type, List<String> tables, String label, Compression compression, Integer retentionDays) {
}
