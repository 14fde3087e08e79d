package dev.chronodr.repo;

import java.nio.file.Path;
import java.time.OffsetDateTime;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * One entry of the catalog: a chrono-dr backup with its manifest, or a legacy file (the
 * runbook's plain SQL dumps) known only by its name, with what {@link Assessment} found it
 * worth: its state, the reason when it is not simply complete, and when its checksums last
 * matched ({@code verifiedAt}, null when never). {@code path} is its directory (or file) in
 * a local repository and null on object storage; {@code key} is its name in the repository
 * either way, which {@link Repository} reads it by.
 */
public record StoredBackup(String id, String database, String type, OffsetDateTime time, boolean legacy,
                           @JsonIgnore Path path, @JsonIgnore BackupManifest manifest,
                           BackupState state, String reason, OffsetDateTime verifiedAt, @JsonIgnore String key) {

    /** A backup in a directory (or a legacy file) of a local repository: its key is its name. */
    public StoredBackup(String id, String database, String type, OffsetDateTime time, boolean legacy, Path path,
                        BackupManifest manifest, BackupState state, String reason, OffsetDateTime verifiedAt) {
        this(id, database, type, time, legacy, path, manifest, state, reason, verifiedAt,
                path == null ? id : path.getFileName().toString());
    }

    /** The reason it cannot be trusted, or null when it is sound. */
    @JsonIgnore
    public String problem() {
        return state.sound() ? null : reason;
    }

    /** A logical backup of a whole database: schema, data and the cluster's roles. */
    @JsonIgnore
    public boolean full() {
        return "full".equals(type);
    }

    /** A base backup of the whole cluster, which brings back every database in it with its WAL. */
    @JsonIgnore
    public boolean base() {
        return "physical".equals(type);
    }

    /** Of a kind that can bring {@code db} back: its own full backup, or a base backup of the cluster. */
    public boolean coversDatabase(String db) {
        return full() && db.equals(database) || base();
    }

    StoredBackup withState(BackupState s, String why, OffsetDateTime verified) {
        return new StoredBackup(id, database, type, time, legacy, path, manifest, s, why, verified, key);
    }

    public long bytes() {
        if (manifest != null) {
            return manifest.totalBytes();
        }
        return path == null ? 0 : path.toFile().length();
    }

    /**
     * Where it is, for messages: its directory, or its key on object storage (the
     * repository's location says which bucket).
     */
    public String location() {
        return path != null ? path.toString() : key;
    }
}
