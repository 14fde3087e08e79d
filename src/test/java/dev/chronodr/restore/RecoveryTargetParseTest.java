package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.testing.CliRun;

/**
 * The point-in-time target is parsed by the core, once, for both spellings ({@code restore --point-in-time}
 * and {@code pitr restore}); bad input is a one-line usage error before anything connects.
 */
class RecoveryTargetParseTest {
    @TempDir
    Path dir;

    @Test
    void eachKindOfTarget() {
        assertEquals(RecoveryTarget.time(OffsetDateTime.parse("2025-08-27T10:00:00+02:00")),
                RecoveryTarget.parse("2025-08-27 10:00:00+02:00", null, null));
        assertEquals(RecoveryTarget.time(LocalDateTime.parse("2025-08-27T10:00:00").atZone(ZoneId.systemDefault()).toOffsetDateTime()),
                RecoveryTarget.parse(" 2025-08-27 10:00:00 ", null, null), "no offset: the local time zone");
        assertEquals("recovery_target_lsn = 0/3000060", RecoveryTarget.parse(null, "0/3000060", null).toString());
        assertEquals(RecoveryTarget.name("after-batch-2"), RecoveryTarget.parse(null, null, "after-batch-2"));
        assertEquals(RecoveryTarget.immediate(), RecoveryTarget.parse(null, null, null));
    }

    @Test
    void badInputIsAUsageError() {
        ChronoException lsn = assertThrows(ChronoException.class, () -> RecoveryTarget.parse(null, "3000060", null));
        assertEquals(ExitCode.USAGE, lsn.exitCode());
        assertEquals("--target-lsn '3000060' is not an LSN", lsn.getMessage());
        ChronoException time = assertThrows(ChronoException.class, () -> RecoveryTarget.parse("yesterday", null, null));
        assertEquals(ExitCode.USAGE, time.exitCode());
        assertEquals("--point-in-time 'yesterday' is not a timestamp", time.getMessage());
    }

    @Test
    void bothCommandsRefuseTheSameWayAndThePortIsCheckedFirst() {
        Map<String, String> env = Map.of("PATH", System.getenv("PATH"), "HOME", dir.toString());
        String data = dir.resolve("data").toString();
        String repo = dir.resolve("repo").toString();
        CliRun viaRestore = CliRun.run(env, dir, "restore", "--repo", repo, "--target-lsn", "nope", "--data-dir", data, "-p", "5433");
        CliRun viaPitr = CliRun.run(env, dir, "pitr", "restore", "--repo", repo, "--target-lsn", "nope", "--data-dir", data, "--port", "5433");
        for (CliRun r : new CliRun[] {viaRestore, viaPitr}) {
            assertEquals(64, r.exitCode(), r.toString());
            assertTrue(r.err().contains("--target-lsn 'nope' is not an LSN"), r.err());
        }
        CliRun time = CliRun.run(env, dir, "restore", "--repo", repo, "--point-in-time", "soon", "--data-dir", data, "-p", "5433");
        assertEquals(64, time.exitCode(), time.toString());
        assertTrue(time.err().contains("--point-in-time 'soon' is not a timestamp"), time.err());
        CliRun port = CliRun.run(env, dir, "pitr", "restore", "--repo", repo, "--target-lsn", "nope", "--data-dir", data, "--port", "70000");
        assertEquals(64, port.exitCode(), port.toString());
        assertTrue(port.err().contains("--port 70000 is out of range"), port.err());
    }
}
