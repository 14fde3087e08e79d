package dev.chronodr.wal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Optional;

import dev.chronodr.core.Json;

/** Restore points recorded by `chrono-dr restore-point` in REPO/restore_points/. */
public final class RestorePoints {
    private RestorePoints() {
    }

    /** Hex of the UTF-8 name: any name is a safe, unique file name. */
    static String fileName(String name) {
        return HexFormat.of().formatHex(name.getBytes(java.nio.charset.StandardCharsets.UTF_8)) + ".json";
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
