package dev.chronodr.wal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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

    /** The record area on object storage. */
    static final String AREA = ".restore_points";

    public static Optional<RestorePointResult> find(dev.chronodr.repo.Repository repo, String name) {
        if (repo.localRoot().isPresent()) {
            return find(repo.localRoot().get(), name);
        }
        try {
            return Optional.of(Json.mapper().readValue(repo.readRecord(AREA, fileName(name)), RestorePointResult.class));
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw dev.chronodr.core.ChronoException.failed("cannot read restore point '" + name + "' in " + repo.location() + ": "
                    + e.getMessage(), null);
        }
    }

    public static Optional<RestorePointResult> find(Path repo, String name) {
        Path f = repo.resolve("restore_points").resolve(fileName(name));
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.mapper().readValue(f.toFile(), RestorePointResult.class));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
