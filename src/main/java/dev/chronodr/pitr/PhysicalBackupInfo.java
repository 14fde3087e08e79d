package dev.chronodr.pitr;

import java.time.OffsetDateTime;

/**
 * What point-in-time recovery needs to know about a base backup, stored as physical.json
 * beside manifest.json. {@code stopTime} is taken when pg_basebackup returned, so it is
 * never earlier than the moment the backup became consistent: a target after it is safe.
 */
public record PhysicalBackupInfo(
        String id,
        long systemIdentifier,
        int timeline,
        String startLsn,
        String stopLsn,
        String startWalFile,
        String stopWalFile,
        OffsetDateTime startTime,
        OffsetDateTime stopTime,
        int walSegmentSize,
        int serverVersionNum) {
    public static final String FILE_NAME = "physical.json";
    public static final String BASE_FILE = "base.tar";
    public static final String PG_MANIFEST = "backup_manifest";
}
