package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.catalog.CleanupResult;
import dev.chronodr.catalog.CleanupService;

/** A wal-push killed mid-write leaves its temp file; cleanup removes it once it is surely dead, and nothing else. */
class WalAbandonedWritesTest {
    @TempDir
    Path dir;

    @Test
    void oldTempFilesOfKilledPushesGoYoungOnesAndEverythingElseStay() throws Exception {
        Path repo = dir.resolve("repo");
        Path segment = Files.write(dir.resolve("000000010000000000000001"), new byte[16 << 20]);
        new WalArchive(repo).push(segment);
        Path tl = repo.resolve("wal/00000001");
        Path oldData = tempFile(tl, ".000000010000000000000002.zst.4711.tmp", 2);
        Path oldSum = tempFile(tl, ".000000010000000000000002.sha256.99.tmp", 2);
        Path running = tempFile(tl, ".000000010000000000000003.zst.12.tmp", 0);
        Path foreign = tempFile(tl, ".notes.zst.1.tmp", 2);
        Path unrelated = tempFile(tl, "000000010000000000000009.zst.bak", 2);

        WalRetention.Result dry = WalRetention.apply(repo, true);
        assertEquals(2, dry.abandonedWrites());
        assertTrue(Files.exists(oldData) && Files.exists(oldSum), "a dry run removes nothing");

        CleanupResult r = CleanupService.run(repo, 7, null, false, OffsetDateTime.now());
        assertEquals(2, r.wal().abandonedWrites(), "cleanup reports what it swept");
        assertFalse(Files.exists(oldData));
        assertFalse(Files.exists(oldSum));
        assertTrue(Files.exists(running), "a push may be writing this one now");
        assertTrue(Files.exists(foreign), "not named like a WAL file: not ours");
        assertTrue(Files.exists(unrelated));
        assertTrue(new WalArchive(repo).contains("000000010000000000000001"), "the archived segment stays");
        assertEquals(1, new WalArchive(repo).list().size());
    }

    private static Path tempFile(Path dir, String name, int hoursOld) throws Exception {
        Path p = Files.write(dir.resolve(name), new byte[] {1, 2, 3});
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(hoursOld, ChronoUnit.HOURS).minusSeconds(hoursOld == 0 ? 0 : 60)));
        return p;
    }
}
