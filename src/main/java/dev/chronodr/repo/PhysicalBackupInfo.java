package dev.chronodr.repo;

import java.time.OffsetDateTime;
import java.util.List;

/**
 * What point-in-time recovery needs to know about a base backup, stored as physical.json
 * beside manifest.json. {@code stopTime} is taken when pg_basebackup returned, so it is
 * never earlier than the moment the backup became consistent: a target after it is safe.
 * {@code parent}: for a PostgreSQL 17 incremental base backup (pg_basebackup --incremental),
 * the id of the base backup (full or incremental) whose backup_manifest it was taken
 * against; null for a full one, and in every physical.json written before incrementals.
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
        int serverVersionNum,
        List<Tablespace> tablespaces,
        String parent) {
    public static final String FILE_NAME = "physical.json";
    public static final String BASE_FILE = "base.tar";
    public static final String PG_MANIFEST = "backup_manifest";

    /** Backups written before tablespaces were supported have none recorded: they had none. */
    public PhysicalBackupInfo {
        tablespaces = tablespaces == null ? List.of() : List.copyOf(tablespaces);
    }

    /** A full base backup. */
    public PhysicalBackupInfo(String id, long systemIdentifier, int timeline, String startLsn, String stopLsn, String startWalFile,
                              String stopWalFile, OffsetDateTime startTime, OffsetDateTime stopTime, int walSegmentSize,
                              int serverVersionNum, List<Tablespace> tablespaces) {
        this(id, systemIdentifier, timeline, startLsn, stopLsn, startWalFile, stopWalFile, startTime, stopTime, walSegmentSize,
                serverVersionNum, tablespaces, null);
    }

    /** Taken with pg_basebackup --incremental: restorable only with its parent, combined by pg_combinebackup. */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean incremental() {
        return parent != null;
    }

    public PhysicalBackupInfo withParent(String parentId) {
        return new PhysicalBackupInfo(id, systemIdentifier, timeline, startLsn, stopLsn, startWalFile, stopWalFile, startTime, stopTime,
                walSegmentSize, serverVersionNum, tablespaces, parentId);
    }

    /**
     * A tablespace outside the data directory: pg_basebackup writes it as OID.tar beside
     * base.tar, and the backup's tablespace_map points recovery at {@code location}.
     */
    public record Tablespace(long oid, String name, String location) {
        public String tarName() {
            return oid + ".tar";
        }
    }
}
