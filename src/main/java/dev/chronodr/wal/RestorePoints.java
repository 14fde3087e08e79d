package dev.chronodr.wal;

import java.io.IOException;
import java.util.HexFormat;
import java.util.Optional;

import dev.chronodr.core.Json;

/**
 * Restore points recorded by `chrono-dr restore-point`: REPO/restore_points/ in a directory,
 * PREFIX/.restore_points/ in a bucket (a record area of the repository: dot-names are never
 * taken for backups).
 */
public final class RestorePoints {
    private RestorePoints() {
    }

    /** Hex of the UTF-8 name: any name is a safe, unique file name. */
    static String fileName(String name) {
        return HexFormat.of().formatHex(name.getBytes(java.nio.charset.StandardCharsets.UTF_8)) + ".json";
    }

    public static Optional<RestorePointResult> find(dev.chronodr.repo.Repository repo, String name) {
        byte[] record;
        try {
            record = repo.readRestorePoint(fileName(name));
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw dev.chronodr.core.ChronoException.failed("cannot read restore point '" + name + "' in " + repo.location() + ": "
                    + e.getMessage(), null);
        }
        try {
            return Optional.of(Json.mapper().readValue(record, RestorePointResult.class));
        } catch (IOException e) {
            return Optional.empty(); // a damaged record: the point is in the WAL either way (restore falls back, see PitrRestoreService)
        }
    }
}
