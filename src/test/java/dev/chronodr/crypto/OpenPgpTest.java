package dev.chronodr.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.Gpg;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Secret;

/**
 * Our OpenPGP against the real gpg 2.2: what we encrypt gpg decrypts, what gpg encrypts we
 * decrypt, and every way a file or key can be wrong fails with one line and its exit code.
 */
class OpenPgpTest {
    private static final String ALICE_PASS = "alice's passphrase";
    private static final String BOB_PASS = "bob: correct horse battery staple";

    @TempDir
    static Path keys;
    @TempDir
    Path dir;

    static Gpg alice;
    static Gpg bob;
    static Gpg carol;
    static String aliceFpr;
    static String bobFpr;
    static String carolFpr;
    static Path alicePub;
    static Path aliceSec;
    static Path bobPub;
    static Path bobSec;
    static Path carolSec;
    /** Unlocked once: gpg's S2K makes each unlock cost a second or two in pure Java. */
    static SecretKeys aliceKeys;
    static SecretKeys bobKeys;

    @BeforeAll
    static void makeKeys() throws IOException {
        alice = Gpg.create(Files.createDirectories(keys.resolve("alice")), ALICE_PASS);
        aliceFpr = alice.generate("Alice <alice@example.org>", "ed25519", "cv25519", "never");
        alicePub = alice.exportPublic(aliceFpr, keys.resolve("alice.pub.asc"));
        aliceSec = alice.exportSecret(aliceFpr, keys.resolve("alice.sec.asc"));
        bob = Gpg.create(Files.createDirectories(keys.resolve("bob")), BOB_PASS);
        bobFpr = bob.generate("Bob <bob@example.org>", "rsa3072", "rsa3072", "never");
        bobPub = bob.exportPublic(bobFpr, keys.resolve("bob.pub.asc"));
        bobSec = bob.exportSecret(bobFpr, keys.resolve("bob.sec.asc"));
        carol = Gpg.create(Files.createDirectories(keys.resolve("carol")), "carol");
        carolFpr = carol.generate("Carol <carol@example.org>", "ed25519", "cv25519", "never");
        carolSec = carol.exportSecret(carolFpr, keys.resolve("carol.sec.asc"));
        aliceKeys = SecretKeys.load(aliceSec, Secret.of(ALICE_PASS));
        bobKeys = SecretKeys.load(bobSec, Secret.of(BOB_PASS));
    }

    @AfterAll
    static void stopAgents() {
        for (Gpg g : new Gpg[] {alice, bob, carol}) {
            if (g != null) {
                g.close();
            }
        }
    }

    /** Several MB: random bytes (as zstd output looks) followed by text. */
    static byte[] content(int mb) {
        byte[] random = new byte[mb << 20];
        new Random(42).nextBytes(random);
        byte[] text = "INSERT INTO pages VALUES (1, 'https://example.org/', 'hello');\n".repeat(20_000).getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[random.length + text.length];
        System.arraycopy(random, 0, all, 0, random.length);
        System.arraycopy(text, 0, all, random.length, text.length);
        return all;
    }

    static Path encryptToFile(byte[] plain, Path file, Path... publicKeys) throws IOException {
        Recipients r = Recipients.load(List.of(publicKeys));
        try (OutputStream sink = Files.newOutputStream(file); OutputStream enc = OpenPgp.encrypt(sink, r)) {
            // odd-sized writes, so chunk boundaries fall mid-write
            for (int off = 0; off < plain.length; off += 100_003) {
                enc.write(plain, off, Math.min(100_003, plain.length - off));
            }
        }
        return file;
    }

    static byte[] decryptFile(Path file, SecretKeys keys) throws IOException {
        try (InputStream in = OpenPgp.decrypt(Files.newInputStream(file), keys, file.getFileName().toString())) {
            return in.readAllBytes();
        }
    }

    @Test
    void gpgDecryptsWhatWeEncryptByteForByte() throws IOException {
        byte[] plain = content(6);
        Path enc = encryptToFile(plain, dir.resolve("dump.zst.gpg"), alicePub);

        Path out = dir.resolve("out");
        Gpg.Result r = alice.decrypt(enc, out);
        assertEquals(0, r.exitCode(), r.stderr());
        assertArrayEquals(plain, Files.readAllBytes(out));

        // What the file is made of: AES-256 with an MDC (SEIPD v1, which gpg 2.2 reads), no compression packet.
        String packets = alice.listPackets(enc);
        assertTrue(packets.contains("encrypted data packet"), packets);
        assertTrue(packets.contains("mdc_method: 2"), packets);
        assertFalse(packets.contains("compressed packet"), packets);
        assertTrue(r.stderr().contains("AES256"), r.stderr());
        assertTrue(OpenPgp.looksEncrypted(Arrays.head(enc)));
    }

    @Test
    void eachOfTwoRecipientsDecryptsWithTheirOwnGpg() throws IOException {
        byte[] plain = content(2);
        Path enc = encryptToFile(plain, dir.resolve("two.gpg"), alicePub, bobPub);
        for (Gpg who : new Gpg[] {alice, bob}) {
            Path out = dir.resolve("out-" + who.home.getParent().getFileName());
            Gpg.Result r = who.decrypt(enc, out);
            assertEquals(0, r.exitCode(), r.stderr());
            assertArrayEquals(plain, Files.readAllBytes(out));
        }
        // and our own decrypt, with either secret key
        assertArrayEquals(plain, decryptFile(enc, aliceKeys));
        assertArrayEquals(plain, decryptFile(enc, bobKeys));
        // its header names both subkeys, without any key
        EncryptedTo to = OpenPgp.recipientsOf(Files.newInputStream(enc), "two.gpg");
        assertEquals(List.of(alice.subkeyFingerprint(aliceFpr).substring(24), bob.subkeyFingerprint(bobFpr).substring(24)), to.keyIds());
    }

    @Test
    void weDecryptWhatGpgEncrypts() throws IOException {
        byte[] plain = content(3);
        Path in = Files.write(dir.resolve("plain"), plain);
        // gpg's defaults: its own cipher choice and a compression layer
        Path byAlice = dir.resolve("for-alice.gpg");
        alice.encrypt(aliceFpr, in, byAlice);
        assertArrayEquals(plain, decryptFile(byAlice, aliceKeys));
        Path byBob = dir.resolve("for-bob.gpg");
        bob.encrypt(bobFpr, in, byBob);
        assertArrayEquals(plain, decryptFile(byBob, bobKeys));
    }

    @Test
    void outputLeavesWhileWritingNotAtClose() throws IOException {
        // Bounded memory: the ciphertext reaches the sink chunk by chunk as it is written.
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        OutputStream enc = OpenPgp.encrypt(sink, Recipients.load(List.of(alicePub)));
        enc.write(new byte[4 << 20]);
        assertTrue(sink.size() > (4 << 20) - (256 << 10), "only " + sink.size() + " bytes reached the sink before close");
        enc.close();
        byte[] plain = OpenPgp.decrypt(new ByteArrayInputStream(sink.toByteArray()), aliceKeys, "sink").readAllBytes();
        assertEquals(4 << 20, plain.length);
    }

    @Test
    void aFileForAnotherKeyNamesTheFingerprintItNeeds() throws IOException {
        Recipients r = Recipients.load(List.of(alicePub));
        Path enc = encryptToFile("data".getBytes(StandardCharsets.UTF_8), dir.resolve("f.gpg"), alicePub);
        SecretKeys carolKeys = SecretKeys.load(carolSec, Secret.of("carol"));

        ChronoException e = assertThrows(ChronoException.class,
                () -> OpenPgp.decrypt(Files.newInputStream(enc), carolKeys, "ID/database.dump.zst", r.list()));
        assertEquals(ExitCode.UNKNOWN, e.exitCode());
        assertTrue(e.getMessage().contains(aliceFpr), e.getMessage());
        assertTrue(e.getMessage().contains(carolFpr), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());

        // Without the manifest's record the header still names the subkey, as gpg would.
        ChronoException bare = assertThrows(ChronoException.class, () -> OpenPgp.decrypt(Files.newInputStream(enc), carolKeys, "f.gpg"));
        assertEquals(ExitCode.UNKNOWN, bare.exitCode());
        assertTrue(bare.getMessage().contains(alice.subkeyFingerprint(aliceFpr).substring(24)), bare.getMessage());

        // No key at all.
        ChronoException none = assertThrows(ChronoException.class, () -> OpenPgp.decrypt(Files.newInputStream(enc), null, "f.gpg", r.list()));
        assertEquals(ExitCode.UNKNOWN, none.exitCode());
        assertTrue(none.getMessage().contains(aliceFpr) && none.getMessage().contains("no --decrypt-key"), none.getMessage());
    }

    @Test
    void aFileForAPassphraseAloneIsRefusedAndSaysSo() throws IOException {
        Path in = Files.write(dir.resolve("plain"), new byte[100]);
        Path sym = dir.resolve("sym.gpg");
        assertEquals(0, alice.run(List.of("--symmetric", "--output", sym.toString(), in.toString())).exitCode());
        assertTrue(OpenPgp.looksEncrypted(Arrays.head(sym)));
        assertTrue(OpenPgp.recipientsOf(Files.newInputStream(sym), "sym.gpg").passphrase());
        ChronoException e = assertThrows(ChronoException.class, () -> OpenPgp.decrypt(Files.newInputStream(sym), aliceKeys, "sym.gpg"));
        assertEquals(ExitCode.UNKNOWN, e.exitCode());
        assertTrue(e.getMessage().contains("sym.gpg is encrypted with a passphrase only"), e.getMessage());
    }

    @Test
    void aWrongPassphraseIsOneLineWithoutThePassphrase() {
        String wrong = "not-the-passphrase-4711";
        ChronoException e = assertThrows(ChronoException.class, () -> SecretKeys.load(bobSec, Secret.of(wrong)));
        assertEquals(ExitCode.UNKNOWN, e.exitCode());
        assertTrue(e.getMessage().contains(bobFpr) && e.getMessage().contains(bobSec.toString()), e.getMessage());
        assertFalse(e.getMessage().contains(wrong) || String.valueOf(e.hint()).contains(wrong), e.getMessage());
        assertFalse(e.getMessage().contains(BOB_PASS), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));

        ChronoException missing = assertThrows(ChronoException.class, () -> SecretKeys.load(aliceSec, null));
        assertEquals(ExitCode.USAGE, missing.exitCode());
        assertTrue(missing.getMessage().contains(aliceSec.toString()), missing.getMessage());
    }

    @Test
    void aTruncatedFileFailsInsteadOfEndingEarly() throws IOException {
        byte[] plain = content(1);
        byte[] enc = Files.readAllBytes(encryptToFile(plain, dir.resolve("t.gpg"), bobPub));
        // cut inside the data, just before the MDC, and inside the MDC itself
        for (int cut : new int[] {enc.length / 2, enc.length - 23, enc.length - 5}) {
            byte[] shorter = java.util.Arrays.copyOf(enc, cut);
            ChronoException e = assertThrows(ChronoException.class,
                    () -> OpenPgp.decrypt(new ByteArrayInputStream(shorter), bobKeys, "t.gpg").readAllBytes(), "cut at " + cut);
            assertEquals(ExitCode.CRITICAL, e.exitCode(), e.getMessage());
            assertTrue(e.getMessage().startsWith("t.gpg is damaged"), e.getMessage());
        }
        // and gpg agrees that the same file is damaged
        Path cutFile = Files.write(dir.resolve("cut.gpg"), java.util.Arrays.copyOf(enc, enc.length / 2));
        assertTrue(bob.decrypt(cutFile, dir.resolve("cut.out")).exitCode() != 0);
    }

    @Test
    void oneFlippedByteFails() throws IOException {
        byte[] plain = content(1);
        byte[] enc = Files.readAllBytes(encryptToFile(plain, dir.resolve("f.gpg"), alicePub));
        for (int at : new int[] {enc.length / 2, enc.length - 10, enc.length - 1, 200}) {
            byte[] flipped = enc.clone();
            flipped[at] ^= 0x01;
            ChronoException e = assertThrows(ChronoException.class,
                    () -> OpenPgp.decrypt(new ByteArrayInputStream(flipped), aliceKeys, "f.gpg").readAllBytes(), "flipped at " + at);
            assertEquals(ExitCode.CRITICAL, e.exitCode(), "flipped at " + at + ": " + e.getMessage());
        }
        // the intact file still decrypts
        assertArrayEquals(plain, OpenPgp.decrypt(new ByteArrayInputStream(enc), aliceKeys, "f.gpg").readAllBytes());
    }

    @Test
    void aFileThatIsNotEncryptedIsToldApart() throws IOException {
        byte[] zstdHead = {0x28, (byte) 0xB5, 0x2F, (byte) 0xFD, 0x24, 0x00};
        assertFalse(OpenPgp.looksEncrypted(zstdHead));
        assertFalse(OpenPgp.looksEncrypted(new byte[0]));
        assertFalse(OpenPgp.looksEncrypted("PGDMP".getBytes(StandardCharsets.US_ASCII)));
        Path enc = encryptToFile(new byte[10], dir.resolve("x.gpg"), alicePub);
        assertTrue(OpenPgp.looksEncrypted(Arrays.head(enc)));
        Path byGpg = dir.resolve("g.gpg");
        alice.encrypt(aliceFpr, Files.write(dir.resolve("p"), new byte[10]), byGpg);
        assertTrue(OpenPgp.looksEncrypted(Arrays.head(byGpg)));

        ChronoException e = assertThrows(ChronoException.class,
                () -> OpenPgp.decrypt(new ByteArrayInputStream(zstdHead), aliceKeys, "db.dump.zst"));
        assertEquals(ExitCode.CRITICAL, e.exitCode());
        assertTrue(e.getMessage().contains("db.dump.zst is not an OpenPGP encrypted file"), e.getMessage());
        ChronoException empty = assertThrows(ChronoException.class,
                () -> OpenPgp.decrypt(new ByteArrayInputStream(new byte[0]), aliceKeys, "empty.gpg"));
        assertEquals(ExitCode.CRITICAL, empty.exitCode(), empty.getMessage());
    }

    @Test
    void aReadFailureOfTheStoredBytesIsNotCalledDamage() throws IOException {
        byte[] enc = Files.readAllBytes(encryptToFile(content(1), dir.resolve("r.gpg"), alicePub));
        InputStream failing = new java.io.FilterInputStream(new ByteArrayInputStream(enc)) {
            long read;

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (read > 300_000) {
                    throw new IOException("connection reset");
                }
                int n = super.read(b, off, Math.min(len, 8192));
                read += Math.max(n, 0);
                return n;
            }
        };
        InputStream plain = OpenPgp.decrypt(failing, aliceKeys, "r.gpg");
        IOException e = assertThrows(IOException.class, plain::readAllBytes);
        assertEquals("connection reset", e.getMessage());
    }

    /** The first bytes of a file, as a reader would sniff them. */
    static final class Arrays {
        static byte[] head(Path file) throws IOException {
            try (InputStream in = Files.newInputStream(file)) {
                return in.readNBytes(8);
            }
        }
    }
}
