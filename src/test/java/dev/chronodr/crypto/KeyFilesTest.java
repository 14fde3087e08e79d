package dev.chronodr.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.Gpg;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Secret;

/**
 * Key files as gpg exports them, and every way one given to --encrypt-to or --decrypt-key can
 * be wrong: each a one-line usage error (exit 64) that names the file.
 */
class KeyFilesTest {
    @TempDir
    static Path keys;
    @TempDir
    Path dir;

    static Gpg gpg;
    static String fpr;
    static Path pub;
    static Path sec;
    static Path expired;
    static Path revoked;
    static Path signOnly;
    static Path subkeyExpired;

    @BeforeAll
    static void makeKeys() throws IOException {
        gpg = Gpg.create(keys, "pass");
        fpr = gpg.generate("Dave <dave@example.org>", "ed25519", "cv25519", "never");
        pub = gpg.exportPublic(fpr, keys.resolve("dave.pub.asc"));
        sec = gpg.exportSecret(fpr, keys.resolve("dave.sec.asc"));
        // made in 2020, valid for a day
        String old = gpg.generate("Old <old@example.org>", "ed25519", "cv25519", "1d", "--faked-system-time", "20200101T000000!");
        expired = gpg.exportPublic(old, keys.resolve("old.pub.asc"));
        String gone = gpg.generate("Gone <gone@example.org>", "ed25519", "cv25519", "never");
        gpg.revoke(gone);
        revoked = gpg.exportPublic(gone, keys.resolve("gone.pub.asc"));
        String signer = gpg.generate("Signer <signer@example.org>", "ed25519", null, "never");
        signOnly = gpg.exportPublic(signer, keys.resolve("signer.pub.asc"));
        // a key that does not expire, whose only encryption subkey did
        String lapsed = gpg.generate("Lapsed <lapsed@example.org>", "ed25519", null, "never", "--faked-system-time", "20200101T000000!");
        assertEquals(0, gpg.run(List.of("--faked-system-time", "20200101T000000!", "--quick-add-key", lapsed, "cv25519", "encr", "1d")).exitCode());
        subkeyExpired = gpg.exportPublic(lapsed, keys.resolve("lapsed.pub.asc"));
    }

    @AfterAll
    static void stopAgent() {
        if (gpg != null) {
            gpg.close();
        }
    }

    private static ChronoException usage(Runnable load, Path file, String says) {
        ChronoException e = assertThrows(ChronoException.class, load::run);
        assertEquals(ExitCode.USAGE, e.exitCode(), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(says), "says '" + says + "': " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e;
    }

    @Test
    void aPublicKeyAsGpgExportsItGivesItsFingerprintAndEncryptionSubkey() {
        Recipients r = Recipients.load(List.of(pub, pub));
        assertEquals(List.of(fpr), r.fingerprints(), "each key once");
        Recipient only = r.list().get(0);
        assertEquals(gpg.subkeyFingerprint(fpr), only.subkeyFingerprint());
        assertEquals("Dave <dave@example.org>", only.userId());
        assertTrue(fpr.matches("[0-9A-F]{40}"), fpr);
    }

    @Test
    void aPublicKeyFileThatIsWrongIsAUsageErrorNamingTheFile() throws IOException {
        usage(() -> Recipients.load(List.of(sec)), sec, "holds a secret key");
        Path garbage = Files.writeString(dir.resolve("garbage.asc"), "this is not a key\n".repeat(10));
        usage(() -> Recipients.load(List.of(garbage)), garbage, "is not an OpenPGP key file");
        Path binary = Files.write(dir.resolve("random.bin"), new byte[] {(byte) 0x99, 0x01, 0x02, 0x03, 0x04, 0x05});
        usage(() -> Recipients.load(List.of(binary)), binary, "is not an OpenPGP key file");
        Path armoredMessage = Files.writeString(dir.resolve("msg.asc"),
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n");
        usage(() -> Recipients.load(List.of(armoredMessage)), armoredMessage, "is not an OpenPGP key file");
        Path empty = Files.writeString(dir.resolve("empty.asc"), "");
        usage(() -> Recipients.load(List.of(empty)), empty, "is empty");
        Path missing = dir.resolve("missing.asc");
        usage(() -> Recipients.load(List.of(pub, missing)), missing, "does not exist");
        usage(() -> Recipients.load(List.of(dir)), dir, "is a directory");
    }

    @Test
    void anExpiredRevokedOrSignOnlyKeyIsRefusedBeforeAnythingIsEncrypted() {
        usage(() -> Recipients.load(List.of(pub, expired)), expired, "expired on 2020-01-02");
        usage(() -> Recipients.load(List.of(revoked)), revoked, "is revoked");
        usage(() -> Recipients.load(List.of(signOnly)), signOnly, "has no usable encryption subkey");
        usage(() -> Recipients.load(List.of(subkeyExpired)), subkeyExpired, "expired on 2020-01-02");
    }

    @Test
    void aSecretKeyFileThatIsWrongIsAUsageErrorNamingTheFile() throws IOException {
        usage(() -> SecretKeys.load(pub, Secret.of("pass")), pub, "holds only public keys");
        Path garbage = Files.writeString(dir.resolve("garbage.asc"), "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnope\n");
        usage(() -> SecretKeys.load(garbage, Secret.of("pass")), garbage, "is not an OpenPGP key file");
        usage(() -> SecretKeys.load(sec, null), sec, "protected by a passphrase");
        assertEquals(List.of(fpr), SecretKeys.load(sec, Secret.of("pass")).keys().stream().map(Recipient::fingerprint).toList());
    }
}
