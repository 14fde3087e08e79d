package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.chronodr.crypto.KeyFiles;
import dev.chronodr.crypto.Recipient;
import dev.chronodr.wal.ArchiveCommand;

/**
 * The WAL sidecar's format, which archives written before encryption existed also hold,
 * and the restore_command a point-in-time restore writes for an encrypted archive.
 */
class WalSumsTest {
    private static final String NAME = "000000010000000000000007";
    private static final String A = "a".repeat(64);
    private static final String B = "b".repeat(64);

    @Test
    void plainAndOlderSidecarsHoldTheContentsSumOnly() {
        WalSums plain = WalSums.parse(new String(WalSums.plain(NAME, A), StandardCharsets.US_ASCII), NAME, ".zst.gpg");
        assertEquals(A, plain.content());
        assertNull(plain.stored());
        assertEquals(A, WalSums.parse(A + "\n", NAME, ".zst.gpg").content(), "a bare checksum, as older versions may have left");
    }

    @Test
    void anEncryptedFilesSidecarHoldsTheStoredBytesSumTheContentsAndItsKeys() {
        Recipient r = new Recipient("5F0C".repeat(10), "9A1B".repeat(10), "Chrono DR <dr@example.org>");
        String text = new String(WalSums.encrypted(NAME, NAME + ".zst.gpg", B, A, List.of(r)), StandardCharsets.UTF_8);
        assertTrue(text.startsWith(B + "  " + NAME + ".zst.gpg\n" + A + "  " + NAME + "\n"), "sha256sum's format, stored bytes first: " + text);
        WalSums s = WalSums.parse(text, NAME, ".zst.gpg");
        assertEquals(A, s.content());
        assertEquals(B, s.stored());
        assertEquals(List.of(r), s.recipients(), "the user ID with its spaces comes back whole");
    }

    @Test
    void aSidecarOfAReplacementInProgressVouchesForBothVersionsNewestFirst() {
        Recipient r = new Recipient("5F0C".repeat(10), "9A1B".repeat(10), "Chrono DR <dr@example.org>");
        String c = "c".repeat(64);
        byte[] both = WalSums.both(WalSums.encrypted(NAME, NAME + ".zst.gpg", B, A, List.of(r)), WalSums.plain(NAME, c));
        WalSums s = WalSums.parse(new String(both, StandardCharsets.UTF_8), NAME, ".zst.gpg");
        assertEquals(A, s.content(), "the new version's content first");
        assertEquals(B, s.stored());
        assertTrue(s.vouchesForContent(A) && s.vouchesForContent(c), "either version passes");
        assertFalse(s.vouchesForContent(B), "a stored-bytes sum is not a content sum");
        assertTrue(s.vouchesForStored(B) && !s.vouchesForStored(c));
        assertEquals(List.of(r), s.recipients());
    }

    @Test
    void restoreCommandNamesTheKeyFilesNeverAPassphrase() {
        String cmd = ArchiveCommand.fetch(List.of("/opt/chrono-dr"), Path.of("/repo"), NAME,
                new KeyFiles(Path.of("/data/keys dir/k.asc"), Path.of("/data/keys dir/pass")));
        assertEquals("/opt/chrono-dr wal-fetch --repo /repo --until " + NAME
                + " --decrypt-key '/data/keys dir/k.asc' --passphrase-file '/data/keys dir/pass' %f %p", cmd);
        assertFalse(ArchiveCommand.fetch(List.of("/opt/chrono-dr"), Path.of("/repo"), null, new KeyFiles(Path.of("/k.asc"), null))
                .contains("--passphrase-file"), "an unprotected key needs no passphrase file");
        assertEquals("/opt/chrono-dr wal-push --repo /repo --encrypt-to /k1.asc --encrypt-to '/my keys/k2.asc' %p",
                ArchiveCommand.push(List.of("/opt/chrono-dr"), Path.of("/repo"), List.of(Path.of("/k1.asc"), Path.of("/my keys/k2.asc"))));
    }
}
