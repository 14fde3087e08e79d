package dev.chronodr.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportFileTest {
    @TempDir
    Path dir;

    @Test
    void reportsArePrivateToTheirOwnerWhateverTheUmaskOrAnOlderFile() throws Exception {
        Path report = dir.resolve("drill.json");
        // An older report left world-readable is replaced by a private one.
        Files.writeString(report, "old");
        Files.setPosixFilePermissions(report, PosixFilePermissions.fromString("rw-r--r--"));
        ReportFile.write(report, w -> w.print("{\"exit_code\": 0}"));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(report)));
        assertEquals("{\"exit_code\": 0}", Files.readString(report));
        try (var left = Files.list(dir)) {
            assertEquals(1, left.count(), "no temporary file is left beside it");
        }
    }
}
