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
 * private .partial/.unpack (a name no database's staging directory can take). File names
 * carry the host and the process id, so copies left by a killed restore on this host are
 * found and removed by the next one; a live pid, or another host's copy (a repository
 * shared between machines or containers), is left alone.
 */
final class UnpackDir {
    private static final Pattern OWNED = Pattern.compile("^([A-Za-z0-9_.]+)-(\\d+)-.*\\.dump(\\.part)?$");

    private static final String HOST = hostName();

    private UnpackDir() {
    }

    /** Where the copies go, without touching anything: for the free-space check. */
    static Path where(Path repoRoot) {
        return repoRoot.resolve(".partial").resolve(".unpack");
    }

    /** The directory for copies; removes those whose restore process is gone. */
    static Path choose(Repository repo) {
        Path dir = where(repo.localRoot().orElse(Repository.spoolDirectory()));
        removeStale(dir);
        return dir;
    }

    /** A name in {@code dir} for this process's copy of backup {@code id}. */
    static Path file(Path dir, String id) {
        return dir.resolve(HOST + "-" + ProcessHandle.current().pid() + "-" + id.replaceAll("[^A-Za-z0-9_.-]", "_") + ".dump");
    }

    /**
     * What {@code copy} is called while it is written and until its dump has matched its SHA-256:
     * a copy under its final name is always a whole, verified one.
     */
    static Path partial(Path copy) {
        return copy.resolveSibling(copy.getFileName() + ".part");
    }

    /** This machine's name as file and marker names carry it. */
    static String host() {
        return HOST;
    }

    private static String hostName() {
        try {
            String h = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            return h.isEmpty() ? "host" : h.replaceAll("[^A-Za-z0-9_.]", "_");
        } catch (IOException | RuntimeException e) {
            return "host";
        }
    }

    private static void removeStale(Path dir) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                Matcher m = OWNED.matcher(p.getFileName().toString());
                if (!m.matches() || !m.group(1).equals(HOST)
                        || ProcessHandle.of(Long.parseLong(m.group(2))).map(ProcessHandle::isAlive).orElse(false)) {
                    continue;
                }
                Files.deleteIfExists(p);
            }
        } catch (IOException | NumberFormatException e) {
            // best effort: a leftover costs space, not correctness
        }
    }
}
