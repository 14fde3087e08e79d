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
        return StoredBackup.of(Path.of("/r/" + id), m);
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

    @Test
    void unreadableManifestsAreNeverDeleted() {
        StoredBackup broken = StoredBackup.unreadable(Path.of("/r/x"), "manifest unreadable");
        assertEquals(List.of(), deleted(List.of(broken), 0, 0));
    }
}
