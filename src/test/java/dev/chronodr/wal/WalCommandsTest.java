package dev.chronodr.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.github.luben.zstd.ZstdInputStream;

import dev.chronodr.testing.CliRun;

/** wal-push / wal-fetch through the real command line, without a server. */
class WalCommandsTest {
    private static final String SEG = "000000010000000000000003";

    @TempDir
    Path tmp;

    private byte[] segment(long seed) {
        byte[] b = new byte[1 << 20];
        new Random(seed).nextBytes(b);
        return b;
    }

    private Map<String, String> env() {
        return Map.of("PATH", System.getenv("PATH"));
    }

    @Test
    void pushTwiceIsIdempotentAndDifferentContentIsRefused() throws Exception {
        Path repo = tmp.resolve("repo");
        Path pgwal = Files.createDirectories(tmp.resolve("data/pg_wal"));
        byte[] content = segment(1);
        Files.write(pgwal.resolve(SEG), content);

        CliRun first = CliRun.run(env(), tmp.resolve("data"), "wal-push", "--repo", repo.toString(), "pg_wal/" + SEG);
        assertEquals(0, first.exitCode(), first::toString);
        Path stored = repo.resolve("wal/00000001/" + SEG + ".zst");
        assertTrue(Files.isRegularFile(stored));
        try (InputStream in = new ZstdInputStream(Files.newInputStream(stored))) {
            assertArrayEquals(content, in.readAllBytes(), "stock zstd framing, content unchanged");
        }
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(stored)));

        CliRun again = CliRun.run(env(), tmp.resolve("data"), "wal-push", "--repo", repo.toString(), "pg_wal/" + SEG);
        assertEquals(0, again.exitCode(), again::toString);
        assertTrue(again.out().contains("already archived with the same content"), again::toString);

        Files.write(pgwal.resolve(SEG), segment(2));
        long before = Files.size(stored);
        CliRun clash = CliRun.run(env(), tmp.resolve("data"), "wal-push", "--repo", repo.toString(), "pg_wal/" + SEG);
        assertEquals(1, clash.exitCode(), clash::toString);
        assertTrue(clash.err().contains("already archived") && clash.err().contains("different content"), clash::toString);
        assertEquals(before, Files.size(stored), "the archived copy is untouched");
        try (var ls = Files.list(stored.getParent())) {
            assertEquals(2, ls.count(), "only NAME.zst and NAME.sha256, no temp files");
        }
    }

    @Test
    void fetchRestoresVerifiesAndReportsMissing() throws Exception {
        Path repo = tmp.resolve("repo");
        Path src = tmp.resolve(SEG);
        byte[] content = segment(3);
        Files.write(src, content);
        assertEquals(0, CliRun.run(env(), tmp, "wal-push", "--repo", repo.toString(), src.toString()).exitCode());

        Path data = Files.createDirectories(tmp.resolve("restore/pg_wal"));
        CliRun ok = CliRun.run(env(), tmp.resolve("restore"), "wal-fetch", "--repo", repo.toString(), SEG, "pg_wal/RECOVERYXLOG");
        assertEquals(0, ok.exitCode(), ok::toString);
        assertArrayEquals(content, Files.readAllBytes(data.resolve("RECOVERYXLOG")));

        CliRun missing = CliRun.run(env(), tmp.resolve("restore"), "wal-fetch", "--repo", repo.toString(),
                "00000002.history", "pg_wal/RECOVERYHISTORY");
        assertEquals(1, missing.exitCode(), missing::toString);
        assertTrue(missing.out().contains("not in the archive"), missing::toString);
        assertFalse(Files.exists(data.resolve("RECOVERYHISTORY")));

        // --until (set by pitr restore) withholds later segments as if they were not archived, not earlier ones or history files
        String before = SEG.substring(0, 16) + String.format("%08X", Long.parseLong(SEG.substring(16), 16) - 1);
        CliRun withheld = CliRun.run(env(), tmp.resolve("restore"), "wal-fetch", "--repo", repo.toString(), "--until", before,
                SEG, "pg_wal/RECOVERYXLOG2");
        assertEquals(1, withheld.exitCode(), withheld::toString);
        assertTrue(withheld.out().contains("past --until " + before), withheld::toString);
        assertFalse(Files.exists(data.resolve("RECOVERYXLOG2")));
        assertEquals(0, CliRun.run(env(), tmp.resolve("restore"), "wal-fetch", "--repo", repo.toString(), "--until", SEG,
                SEG, "pg_wal/RECOVERYXLOG3").exitCode());
        assertEquals(64, CliRun.run(env(), tmp.resolve("restore"), "wal-fetch", "--repo", repo.toString(), "--until", "latest",
                SEG, "pg_wal/RECOVERYXLOG4").exitCode());

        // A damaged checksum record is caught, not replayed.
        Files.writeString(repo.resolve("wal/00000001/" + SEG + ".sha256"), "00".repeat(32) + "  " + SEG + "\n");
        CliRun corrupt = CliRun.run(env(), tmp.resolve("restore"), "wal-fetch", "--repo", repo.toString(), SEG, "pg_wal/X");
        assertEquals(2, corrupt.exitCode(), corrupt::toString);
        assertFalse(Files.exists(data.resolve("X")));
    }

    @Test
    void refusesBadNamesAndRelativeRepo() {
        CliRun bad = CliRun.run(env(), tmp, "wal-fetch", "--repo", tmp.toString(), "../../etc/passwd", "x");
        assertEquals(64, bad.exitCode(), bad::toString);
        CliRun rel = CliRun.run(env(), tmp, "wal-push", "--repo", "backups", SEG);
        assertEquals(64, rel.exitCode(), rel::toString);
        CliRun none = CliRun.run(env(), tmp, "wal-push", SEG);
        assertEquals(64, none.exitCode(), none::toString);
    }
}
