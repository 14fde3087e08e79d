package dev.chronodr.schedule;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;

/**
 * Writes a schedule's files into their directory: each atomically, never over a file that
 * chrono-dr did not generate, and removing the files of this target's jobs that a previous
 * install wrote and the new schedule no longer has (a job turned "off").
 */
public final class Installer {
    private Installer() {
    }

    /** What an install did. */
    public record Outcome(Path directory, List<String> written, List<String> removed) {
    }

    public static Outcome install(Path dir, String prefix, List<GeneratedFile> files) {
        if (!Files.isDirectory(dir)) {
            throw ChronoException.usage("cannot install into " + dir + ": no such directory",
                    "create it first, or pass --dest DIR");
        }
        // Check every name before writing any: a refused install leaves the directory as it was.
        for (GeneratedFile f : files) {
            Path p = dir.resolve(f.name());
            if (Files.exists(p) && !ours(p)) {
                throw ChronoException.usage("refusing to replace " + p + ": chrono-dr did not generate it",
                        "move it aside (or merge it by hand), then run the install again");
            }
        }
        List<String> written = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        try {
            for (GeneratedFile f : files) {
                AtomicFile.write(dir.resolve(f.name()), f.content().getBytes(StandardCharsets.UTF_8));
                written.add(f.name());
            }
            Set<String> keep = new java.util.HashSet<>(written);
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, prefix + "-*")) {
                for (Path p : ds) {
                    String name = p.getFileName().toString();
                    if (!keep.contains(name) && Files.isRegularFile(p) && ours(p) && belongs(name, prefix)) {
                        Files.delete(p);
                        removed.add(name);
                    }
                }
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot write the schedule into " + dir + ": " + e.getMessage()
                    + (written.isEmpty() ? "" : " (written before that: " + String.join(", ", written) + ")"),
                    "check the directory's permissions and free space, then run the install again");
        }
        written.sort(null);
        removed.sort(null);
        return new Outcome(dir, written, removed);
    }

    /** prefix-JOB.service/.timer: another target's prefix-OTHER_TARGET-... is not this one's. */
    private static boolean belongs(String name, String prefix) {
        String rest = name.substring(prefix.length() + 1);
        String job = rest.replaceAll("\\.(service|timer)$", "");
        return Set.of("monitor", "backup", "vacuum", "dr-test", "wal-receive", "monitor-listen").contains(job);
    }

    private static boolean ours(Path p) {
        try (var lines = Files.lines(p, StandardCharsets.UTF_8)) {
            return lines.findFirst().map(l -> l.contains(GeneratedFile.MARK)).orElse(false);
        } catch (IOException | java.io.UncheckedIOException e) {
            return false;
        }
    }
}
