package dev.chronodr.repo;

import java.nio.file.Path;
import java.time.OffsetDateTime;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * One entry of the catalog: a chrono-dr backup with its manifest, or a legacy file
 * (the runbook's plain SQL dumps) known only by its name.
 */
public record StoredBackup(String id, String database, String type, OffsetDateTime time, boolean legacy,
                           @JsonIgnore Path path, @JsonIgnore BackupManifest manifest, String problem) {

    static StoredBackup of(Path dir, BackupManifest m) {
        return new StoredBackup(m.id(), m.database(), m.type(), m.finishedAt(), false, dir, m, null);
    }

    static StoredBackup legacy(Path file, String database, String type, OffsetDateTime time) {
        return new StoredBackup(file.getFileName().toString(), database, type, time, true, file, null,
                "legacy backup without a manifest: no checksums or row counts");
    }

    static StoredBackup unreadable(Path dir, String problem) {
        return new StoredBackup(dir.getFileName().toString(), null, null, null, false, dir, null, problem);
    }

    /** Usable as a source for restore: a readable manifest, or a legacy file. */
    @JsonIgnore
    public boolean usable() {
        return legacy || manifest != null;
    }

    public long bytes() {
        if (manifest != null) {
            return manifest.totalBytes();
        }
        return path.toFile().length();
    }

    public String location() {
        return path.toString();
    }
}
