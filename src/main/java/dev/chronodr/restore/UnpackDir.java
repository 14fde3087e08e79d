package dev.chronodr.restore;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.repo.Repository;

/**
 * Where a parallel restore puts its decompressed copy of the archive: the repository's
 * private .partial/restore. File names carry the process id, so copies left by a killed
 * restore are found and removed by the next one (a pid reused since is left alone).
 */
final class UnpackDir {
    private static final Pattern OWNED = Pattern.compile("^(\\d+)-.*\\.dump$");

    private UnpackDir() {
    }

    /** The directory for copies; removes those whose restore process is gone. */
    static Path choose(Repository repo) {
        Path dir = repo.root().resolve(".partial").resolve("restore");
        removeStale(dir);
        return dir;
    }

    /** A name in {@code dir} for this process's copy of backup {@code id}. */
    static Path file(Path dir, String id) {
        return dir.resolve(ProcessHandle.current().pid() + "-" + id.replaceAll("[^A-Za-z0-9_.-]", "_") + ".dump");
    }

    private static void removeStale(Path dir) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                Matcher m = OWNED.matcher(p.getFileName().toString());
                if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false)) {
                    continue;
                }
                Files.deleteIfExists(p);
            }
        } catch (IOException | NumberFormatException e) {
            // best effort: a leftover costs space, not correctness
        }
    }
}
