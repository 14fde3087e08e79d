package dev.chronodr.pitr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;

/** Reading pg_waldump's lines, and the directories a replay may not touch. */
class ReplayedTablespacesTest {
    private static final String PREFIX = "rmgr: Transaction len (rec/tot):     66/    66, tx:        750, lsn: 0/3F006400, prev 0/3F0063D0, desc: ";

    @Test
    void aTransactionEndingAfterTheTargetIsSeenWhateverItsFraction() {
        OffsetDateTime target = OffsetDateTime.parse("2026-11-26T08:50:27.5Z");
        assertTrue(ReplayedTablespaces.endsAfter(PREFIX + "COMMIT 2026-11-26 08:50:27.591682 UTC; inval msgs: catcache 67", target));
        assertFalse(ReplayedTablespaces.endsAfter(PREFIX + "COMMIT 2026-11-26 08:50:27.5 UTC", target), "equal is not after");
        assertFalse(ReplayedTablespaces.endsAfter(PREFIX + "ABORT 2026-11-26 08:50:27 UTC", target));
        assertTrue(ReplayedTablespaces.endsAfter(PREFIX + "ABORT 2026-11-26 08:50:28 UTC", target));
        assertFalse(ReplayedTablespaces.endsAfter(PREFIX + "PREPARE gid 1: 2026-11-26 09:00:00 UTC", target));
        assertFalse(ReplayedTablespaces.endsAfter("rmgr: Heap len ... desc: INSERT off 3", target));
    }

    @Test
    void aDirectoryWithFilesIsRefusedAMissingOneIsToBeMade(@TempDir Path tmp) throws Exception {
        Path used = Files.createDirectories(tmp.resolve("used"));
        Files.writeString(used.resolve("PG_15_202209061"), "");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path missing = tmp.resolve("missing");
        assertEquals(List.of(missing), ReplayedTablespaces.requireUnused(List.of(
                new ReplayedTablespaces.Created(16500, empty), new ReplayedTablespaces.Created(16501, missing))));
        ChronoException e = assertThrows(ChronoException.class, () -> ReplayedTablespaces.requireUnused(List.of(
                new ReplayedTablespaces.Created(16502, used))));
        assertTrue(e.getMessage().contains("creates tablespace 16502 at " + used), e.getMessage());
    }
}
