package dev.chronodr.restore;

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
import dev.chronodr.core.ExitCode;

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
        assertTrue(ReplayedTablespaces.endsAfter(PREFIX + "COMMIT_PREPARED 755: 2026-11-26 09:00:00.000001 UTC", target));
        assertTrue(ReplayedTablespaces.endsAfter(PREFIX + "ABORT_PREPARED 756: 2026-11-26 09:00:00.000001 UTC", target));
        assertFalse(ReplayedTablespaces.endsAfter("rmgr: Heap len ... desc: INSERT off 3", target));
    }

    @Test
    void theEndOfTheWrittenWalIsAnEndAndDamageIsNot() {
        // pg_waldump 15 on a partial segment zeroed from a page boundary inside a record spanning it (as stored by
        // wal-receive when the rest of the record had not arrived), and the PostgreSQL 16+ wording of the same
        assertTrue(ReplayedTablespaces.reachedEndOfWal("pg_waldump: error: error in WAL record at 0/11006E8: invalid magic number 0000"
                + " in log segment 000000010000000000000001, offset 1056768"));
        assertTrue(ReplayedTablespaces.reachedEndOfWal("pg_waldump: error: error in WAL record at 0/F4E6840: invalid magic number 0000"
                + " in WAL segment 00000001000000000000000F, LSN 0/F4E8000, offset 5144576"));
        assertTrue(ReplayedTablespaces.reachedEndOfWal("pg_waldump: error: error in WAL record at 0/3000148: invalid record length at"
                + " 0/3000180: expected at least 24, got 0"));
        assertFalse(ReplayedTablespaces.reachedEndOfWal("pg_waldump: error: error in WAL record at 0/11006E8: invalid magic number 4A3F"
                + " in log segment 000000010000000000000001, offset 1056768"), "a page of garbage is damage");
        assertFalse(ReplayedTablespaces.reachedEndOfWal("pg_waldump: error: could not open file \"000000010000000000000002\""));
    }

    @Test
    void aCreateLineGivesItsPlaceOidAndDirectoryQuotesAndAll() {
        String line = "rmgr: Tablespace  len (rec/tot):     47/    47, tx:        750, lsn: 0/3F0063D0, prev 0/3F006310, desc: CREATE 16415 ";
        assertEquals(new ReplayedTablespaces.Created("0/3F0063D0", 16415, "/srv/pg/ts \"a\""),
                ReplayedTablespaces.parseCreate(line + "\"/srv/pg/ts \"a\"\"").orElseThrow());
        assertEquals("", ReplayedTablespaces.parseCreate(line + "\"\"").orElseThrow().location(), "in place");
        assertTrue(ReplayedTablespaces.parseCreate(line.replace("CREATE 16415 ", "DROP 16415")).isEmpty());
        assertTrue(ReplayedTablespaces.parseCreate(PREFIX + "COMMIT 2026-11-26 08:50:27.591682 UTC").isEmpty());
    }

    @Test
    void directoriesTheReplayMayUse(@TempDir Path tmp) throws Exception {
        Path used = Files.createDirectories(tmp.resolve("used"));
        Files.writeString(used.resolve("PG_15_202209061"), "");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path missing = tmp.resolve("missing");
        Path data = tmp.resolve("restore/data");
        Path mapped = tmp.resolve("restore/media");
        assertEquals(List.of(empty, missing), ReplayedTablespaces.requireUnused(List.of(created(16500, empty.toString()),
                created(16501, missing.toString()), created(16502, "")), data, List.of(mapped)), "in place: nothing to make");

        ChronoException withFiles = assertThrows(ChronoException.class, () -> ReplayedTablespaces.requireUnused(
                List.of(created(16503, used.toString())), data, List.of()));
        assertEquals(ExitCode.FAILED, withFiles.exitCode());
        assertTrue(withFiles.getMessage().contains("creates tablespace 16503 at " + used + ", which holds files"), withFiles.getMessage());

        Files.writeString(tmp.resolve("file"), "");
        for (Path bad : List.of(tmp.resolve("file"), data.resolve("pg_tblspc/x"), tmp.resolve("restore"), mapped.resolve("sub"))) {
            ChronoException e = assertThrows(ChronoException.class, () -> ReplayedTablespaces.requireUnused(
                    List.of(created(16504, bad.toString())), data, List.of(mapped)), bad.toString());
            assertTrue(e.getMessage().contains("is a file or lies inside or around the restore's own directories"), e.getMessage());
        }
    }

    @Test
    void tablespaceMapLinesHonourTheServersEscapes() {
        assertEquals(List.of("16400 /srv/a", "16401 /srv/b\nc\\d", ""), RestoredTablespaces.mapLines("16400 /srv/a\n16401 /srv/b\\\nc\\\\d\n"));
    }

    private static ReplayedTablespaces.Created created(long oid, String dir) {
        return new ReplayedTablespaces.Created("0/1", oid, dir);
    }
}
