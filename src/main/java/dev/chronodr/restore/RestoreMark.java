package dev.chronodr.restore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.OffsetDateTime;
import java.util.Comparator;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

import com.fasterxml.jackson.annotation.JsonProperty;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Json;

/**
 * The mark a point-in-time restore writes first into each directory it fills (the data
 * directory, tablespace directories): a file naming the restore and the directory. A
 * failed restore leaves its files for a look; {@code --force-clean} empties a directory
 * on the retry only when it carries this mark, so it never deletes what chrono-dr did not
 * write. A restore that succeeds removes its marks: a recovered cluster is the user's.
 */
final class RestoreMark {
    static final String FILE = ".chrono-dr-pitr-restore";
    private static final Pattern ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    /** What the mark holds. {@code dir}: where it was written; a copy moved elsewhere is no longer marked. */
    record Mark(@JsonProperty("tool") String tool, @JsonProperty("id") String id, @JsonProperty("dir") String dir,
                @JsonProperty("started_at") OffsetDateTime startedAt) {
    }

    private RestoreMark() {
    }

    static String newId() {
        return UUID.randomUUID().toString();
    }

    /** Written before anything else goes into {@code dir}, which exists and is empty. */
    static void write(Path dir, String id) {
        Path f = dir.resolve(FILE);
        try {
            Files.writeString(f, Json.mapper().writeValueAsString(new Mark("chrono-dr", id, dir.toString(), Clock.now())) + "\n",
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            Files.setPosixFilePermissions(f, AtomicFile.PRIVATE_FILE);
        } catch (IOException e) {
            throw ChronoException.failed("cannot write " + f + ": " + e.getMessage(), "check free space and permissions in " + dir);
        }
    }

    /** The mark of a restore in {@code dir}, when it is one chrono-dr wrote there. */
    static Optional<Mark> read(Path dir) {
        Path f = dir.resolve(FILE);
        if (!Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try {
            Mark m = Json.mapper().readValue(f.toFile(), Mark.class);
            boolean ours = "chrono-dr".equals(m.tool()) && m.id() != null && ID.matcher(m.id()).matches()
                    && dir.toString().equals(m.dir());
            return ours ? Optional.of(m) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Removed once the restore has succeeded. */
    static void remove(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(FILE));
        } catch (IOException e) {
            throw ChronoException.failed("cannot remove " + dir.resolve(FILE) + ": " + e.getMessage(), null);
        }
    }

    /**
     * Why the restore may not write into {@code dir}, or empty when it may: the directory is
     * absent or empty, or, with {@code forceClean}, marked by a restore and not in use by a
     * running server.
     */
    static Optional<String> refusal(Path dir, String what, boolean forceClean) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            return Optional.of(what + " is a file");
        }
        if (!PitrRestoreService.hasFiles(dir)) {
            return Optional.empty();
        }
        Optional<Mark> mark = read(dir);
        if (!forceClean) {
            return Optional.of(what + " is not empty" + mark.map(m -> " (a restore started " + m.startedAt()
                    + " failed and left it; add --force-clean to empty it and retry)").orElse(""));
        }
        if (mark.isEmpty()) {
            return Optional.of(what + " is not empty and holds no " + FILE + " mark: chrono-dr did not write it, so --force-clean"
                    + " leaves it alone");
        }
        return runningServer(dir).map(pid -> what + " holds a running server (pid " + pid + "); stop it first: pg_ctl -D " + dir + " stop");
    }

    /** The directory's files go, the directory itself stays (with its owner and mode); the mark goes last. */
    static void clean(Path dir, String what) {
        Optional<String> why = refusal(dir, what, true);
        if (why.isPresent()) {
            throw ChronoException.usage(why.get(), null); // checked before: only a race gets here
        }
        if (!PitrRestoreService.hasFiles(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir) && !p.equals(dir.resolve(FILE))) {
                    Files.delete(p);
                }
            }
            Files.delete(dir.resolve(FILE));
        } catch (IOException e) {
            throw ChronoException.failed("--force-clean could not empty " + what + ": " + e.getMessage(), null);
        }
    }

    /** A server whose postmaster.pid names a live process. */
    private static Optional<Long> runningServer(Path dir) {
        Path pidFile = dir.resolve("postmaster.pid");
        if (!Files.isRegularFile(pidFile)) {
            return Optional.empty();
        }
        try {
            String first = Files.readAllLines(pidFile).stream().findFirst().orElse("").strip();
            long pid = Long.parseLong(first);
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(h -> pid);
        } catch (IOException | NumberFormatException e) {
            return Optional.of(-1L); // unreadable: assume the worst
        }
    }
}
