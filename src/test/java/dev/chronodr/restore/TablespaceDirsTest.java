package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.repo.PhysicalBackupInfo;

/** Where a restore may put tablespaces: every refusal comes before anything is written. */
class TablespaceDirsTest {
    @TempDir
    Path tmp;
    private Path backup;
    private Path data;
    private PhysicalBackupInfo base;

    @BeforeEach
    void setUp() throws Exception {
        backup = Files.createDirectories(tmp.resolve("repo/cluster_physical_1"));
        Files.writeString(backup.resolve("16400.tar.zst"), "x");
        Files.writeString(backup.resolve("16401.tar.zst"), "x");
        data = tmp.resolve("restore/data");
        OffsetDateTime t = OffsetDateTime.now();
        base = new PhysicalBackupInfo("cluster_physical_1", 1, 1, "0/2000028", "0/2000100", "000000010000000000000002",
                "000000010000000000000002", t, t, 16 << 20, 150000, List.of(
                new PhysicalBackupInfo.Tablespace(16400, "media", tmp.resolve("live/media").toString()),
                new PhysicalBackupInfo.Tablespace(16401, "archive", tmp.resolve("live/archive").toString())));
    }

    private ChronoException refused(Map<String, Path> map) {
        return assertThrows(ChronoException.class, () -> RestoredTablespaces.destinations(base, backup, map, data));
    }

    @Test
    void mappedOrBackWhereTheyWereWhenThatIsEmpty() {
        Map<PhysicalBackupInfo.Tablespace, Path> dirs = RestoredTablespaces.destinations(base, backup,
                Map.of("media", tmp.resolve("new/media")), data);
        assertEquals(tmp.resolve("new/media"), dirs.get(base.tablespaces().get(0)));
        assertEquals(tmp.resolve("live/archive"), dirs.get(base.tablespaces().get(1)), "not mapped, and nothing there: where it was");
    }

    @Test
    void aDirectoryWithFilesIsRefusedAndNamed() throws Exception {
        Files.createDirectories(tmp.resolve("live/archive"));
        Files.writeString(tmp.resolve("live/archive/PG_15_202209061"), "live");
        ChronoException e = refused(Map.of("media", tmp.resolve("new/media")));
        assertEquals(ExitCode.USAGE, e.exitCode());
        assertTrue(e.getMessage().contains("tablespace archive's directory " + tmp.resolve("live/archive") + " (where it was"), e.getMessage());
        assertTrue(e.hint().contains("--tablespace-map archive=DIR"), e.hint());
    }

    @Test
    void nestedRelativeInsideTheDataDirectoryOrAFileAreRefused() throws Exception {
        Path a = tmp.resolve("x/y");
        String placement = "must be an absolute path of its own, neither inside nor around";
        assertRefused(Map.of("media", a, "archive", tmp.resolve("x")), placement); // one inside the other
        assertRefused(Map.of("media", Path.of("relative/dir"), "archive", a), placement);
        assertRefused(Map.of("media", data.resolve("ts"), "archive", a), placement);
        assertRefused(Map.of("media", data.getParent(), "archive", a), placement); // around the data directory
        Files.createDirectories(tmp.resolve("f"));
        Files.writeString(tmp.resolve("f/file"), "");
        assertRefused(Map.of("media", tmp.resolve("f/file"), "archive", a), "is a file");
        assertRefused(Map.of("media", Path.of("/" + "d".repeat(1000)), "archive", a), "too long for PostgreSQL");
    }

    private void assertRefused(Map<String, Path> map, String why) {
        ChronoException e = refused(map);
        assertEquals(ExitCode.USAGE, e.exitCode(), e.getMessage());
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    @Test
    void anUnknownNameOrAMissingTarIsRefused() throws Exception {
        ChronoException unknown = refused(Map.of("photos", tmp.resolve("p")));
        assertEquals(ExitCode.USAGE, unknown.exitCode());
        assertTrue(unknown.hint().contains("media, archive"), unknown.hint());
        Files.delete(backup.resolve("16401.tar.zst"));
        ChronoException missing = refused(Map.of("media", tmp.resolve("m"), "archive", tmp.resolve("a")));
        assertEquals(ExitCode.FAILED, missing.exitCode());
        assertTrue(missing.getMessage().contains("has no 16401.tar for tablespace archive"), missing.getMessage());
    }
}
