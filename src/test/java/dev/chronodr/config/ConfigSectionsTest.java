package dev.chronodr.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;

/** The backup, drill and verify sections: flag > config > built-in default, decided in config/. */
class ConfigSectionsTest {
    @TempDir
    Path dir;

    private Target target(String sections) throws Exception {
        Path file = Files.writeString(dir.resolve("c.yaml"), "targets:\n  prod:\n    host: h\n" + sections.indent(4));
        return new TargetResolver(new Environment(Map.of("HOME", dir.toString(), "USER", "u"), dir))
                .resolve(new ConnectionRequest(null, null, null, null, null, null, file.toString(), "prod", null, null, null, null, null,
                        false));
    }

    @Test
    void flagThenConfigThenDefault() throws Exception {
        Target configured = target("""
                backup: {lock_timeout: 5, retention_days: 7}
                drill: {rto_minutes: 20}
                verify: {row_drop_critical_percent: 40}
                """);
        Target bare = target("");

        assertEquals(Duration.ofSeconds(9), BackupSection.lockTimeout(9, configured));
        assertEquals(Duration.ofSeconds(5), BackupSection.lockTimeout(null, configured));
        assertEquals(Duration.ofSeconds(60), BackupSection.lockTimeout(null, bare));

        assertEquals(3, BackupSection.retentionDays(3, null, configured));
        assertNull(BackupSection.retentionDays(null, 2, configured), "--keep-last alone: no age limit from the config");
        assertEquals(7, BackupSection.retentionDays(null, null, configured));
        assertEquals(30, BackupSection.retentionDays(null, null, bare));

        assertEquals(new DrillSection.Objectives(45, 15), DrillSection.objectives(45, null, configured));
        assertEquals(new DrillSection.Objectives(20, 15), DrillSection.objectives(null, null, configured));
        assertEquals(new DrillSection.Objectives(30, 15), DrillSection.objectives(null, null, bare));

        assertEquals(new VerifySection.RowDrop(10, 40), VerifySection.rowDrop(configured));
        assertEquals(new VerifySection.RowDrop(10, 50), VerifySection.rowDrop(bare));
    }

    @Test
    void aLockTimeoutBelowOneSecondInTheConfigIsAUsageError() throws Exception {
        ChronoException e = assertThrows(ChronoException.class, () -> BackupSection.lockTimeout(null, target("backup: {lock_timeout: 0}")));
        assertEquals("config backup.lock_timeout must be 1 second or more", e.getMessage());
    }

    @Test
    void anUnknownKeyInASectionNamesTheKeysItTakes() throws Exception {
        Target t = target("backup: {retention: 7}");
        ChronoException e = assertThrows(ChronoException.class, () -> BackupSection.retentionDays(null, null, t));
        String said = e.getMessage() + " / " + e.hint();
        assertTrue(said.contains("'retention'") && said.contains("retention_days"), said);
    }
}
