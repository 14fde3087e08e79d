package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.Test;

class RetentionTest {
    private static final OffsetDateTime NOW = OffsetDateTime.of(2026, 11, 26, 12, 0, 0, 0, ZoneOffset.UTC);

    private static StoredBackup backup(String id, String db, String type, int daysAgo) {
        BackupManifest m = new BackupManifest(1, id, type, null, db, "h", 5432, "15", 150000, "15", "0", NOW.minusDays(daysAgo),
                NOW.minusDays(daysAgo), 1, "zstd:1", "custom", List.of(), List.of(), new BackupManifest.Globals(false, false, null));
        BackupState s = type.equals("schema") || type.equals("data") ? BackupState.PARTIAL : BackupState.COMPLETE;
        return new StoredBackup(id, db, type, m.finishedAt(), false, Path.of("/r/" + id), m, s, null, null);
    }

    private static List<String> deleted(List<StoredBackup> all, Integer days, Integer keepLast) {
        return Retention.plan(all, days, keepLast, NOW).stream().filter(Retention.Decision::delete).map(d -> d.backup().id()).toList();
    }

    @Test
    void onlyBackupIsKeptWhateverItsAge() {
        assertEquals(List.of(), deleted(List.of(backup("a", "db", "full", 400)), 1, null));
        assertEquals(List.of(), deleted(List.of(backup("a", "db", "full", 400)), null, 0));
    }

    @Test
    void allOlderThanNDaysKeepsTheNewestFullOnly() {
        List<StoredBackup> all = List.of(backup("f1", "db", "full", 40), backup("s1", "db", "schema", 35), backup("f2", "db", "full", 31),
                backup("d1", "db", "data", 30));
        assertEquals(List.of("d1", "s1", "f1"), deleted(all, 7, null));
    }

    @Test
    void newestFullIsKeptEvenWhenNewerPartialBackupsExist() {
        List<StoredBackup> all = List.of(backup("f1", "db", "full", 10), backup("d1", "db", "data", 1), backup("d2", "db", "data", 0));
        assertEquals(List.of("d1"), deleted(all, null, 1));
    }

    @Test
    void keepLastAndAgeCombineAsEitherKeeps() {
        List<StoredBackup> all = List.of(backup("f1", "db", "full", 1), backup("f2", "db", "full", 5), backup("f3", "db", "full", 20),
                backup("f4", "db", "full", 30));
        assertEquals(List.of("f4"), deleted(all, 7, 3));
        assertEquals(List.of("f3", "f4"), deleted(all, 7, 1));
    }

    @Test
    void eachDatabaseHasItsOwnNewestFull() {
        List<StoredBackup> all = List.of(backup("a1", "a", "full", 50), backup("b1", "b", "full", 60), backup("b2", "b", "full", 70));
        assertEquals(List.of("b2"), deleted(all, 7, null));
    }

    private static StoredBackup damaged(StoredBackup b) {
        return b.withState(BackupState.DAMAGED, "dump.zst: truncated", null);
    }

    @Test
    void damagedBackupsAreNeitherProtectedNorCountedNorDeleted() {
        // keep-last 1: the damaged newest is not "the newest 1"; the good one behind it is kept as the newest full.
        List<StoredBackup> all = List.of(damaged(backup("f3", "db", "full", 1)), backup("f2", "db", "full", 2), backup("f1", "db", "full", 3));
        assertEquals(List.of("f1"), deleted(all, null, 1));
        List<Retention.Decision> plan = Retention.plan(all, null, 1, NOW);
        assertEquals("kept: newest full backup of db", plan.stream().filter(d -> d.backup().id().equals("f2")).findFirst().orElseThrow().reason());
    }

    @Test
    void emptyBackupsAreNotCountedAndMayExpire() {
        StoredBackup empty = backup("e1", "db", "full", 1).withState(BackupState.EMPTY, "no tables in the backup", null);
        List<StoredBackup> all = List.of(empty, backup("f2", "db", "full", 2), backup("f1", "db", "full", 3), backup("e0", "db", "full", 4)
                .withState(BackupState.EMPTY, "no tables", null));
        // keep-last 2 counts f2 and f1, not the empty ones, which go once past the age limit; the newest full is f2, not e1
        assertEquals(List.of("e1", "e0"), deleted(all, 0, 2));
        assertEquals(List.of("e1", "f1", "e0"), deleted(all, 0, 0));
    }

    @Test
    void unreadableManifestsAreNeverDeleted() {
        StoredBackup broken = Assessment.unreadable(Path.of("/r/x"), null, null, null, "manifest unreadable");
        assertEquals(List.of(), deleted(List.of(broken), 0, 0));
    }
}
