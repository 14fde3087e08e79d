package dev.chronodr.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.core.Json;
import dev.chronodr.repo.BackupVerifier;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.Gpg;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * backup --encrypt-to end to end (issue 19): the stored files are OpenPGP that the stock
 * gpg | zstd -d | pg_restore pipeline restores, the manifest names the recipient and the
 * SHA-256 of the stored bytes, no plaintext reaches the repository, and verify checks the
 * stored bytes without the key and the archive with it.
 */
@PostgresTest
class EncryptedBackupTest {
    private static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");
    static final String MARKER = "plaintext-marker-6b1e0c";
    static final String OPS_PASS = "ops: correct horse battery staple";

    @TempDir
    static Path keys;
    @TempDir
    Path dir;

    static Gpg ops;
    static Gpg other;
    static String opsFpr;
    static String otherFpr;
    static Path opsPub;
    static Path opsSec;
    static Path otherSec;

    private final PgCluster pg;

    EncryptedBackupTest(PgCluster pg) {
        this.pg = pg;
    }

    @BeforeAll
    static void makeKeys() throws IOException {
        ops = Gpg.create(Files.createDirectories(keys.resolve("ops")), OPS_PASS);
        opsFpr = ops.generate("DR team <dr@example.org>", "ed25519", "cv25519", "never");
        opsPub = ops.exportPublic(opsFpr, keys.resolve("dr-team.pub.asc"));
        opsSec = ops.exportSecret(opsFpr, keys.resolve("dr-team.sec.asc"));
        other = Gpg.create(Files.createDirectories(keys.resolve("other")), "other pass");
        otherFpr = other.generate("Someone else <else@example.org>", "ed25519", "cv25519", "never");
        otherSec = other.exportSecret(otherFpr, keys.resolve("else.sec.asc"));
        Files.writeString(keys.resolve("else.pass"), "other pass\n");
    }

    @AfterAll
    static void stopAgents() {
        for (Gpg g : new Gpg[] {ops, other}) {
            if (g != null) {
                g.close();
            }
        }
    }

    static String seeded(PgCluster pg, String name) {
        String db = pg.createDemoDatabase(name);
        pg.execute(db, "INSERT INTO users (email, hashed_password, full_name) VALUES ('dr@example.org', 'x', '" + MARKER + "')");
        return db;
    }

    static JsonNode manifest(Path backupDir) throws IOException {
        return Json.mapper().readTree(backupDir.resolve("manifest.json").toFile());
    }

    static String newestId(Path repo) throws IOException {
        try (var s = Files.list(repo)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().reduce((a, b) -> b).orElseThrow();
        }
    }

    @Test
    void anEncryptedBackupIsRestoredByStockGpgZstdAndPgRestore() throws Exception {
        String db = seeded(pg, "enc_backup_src");
        Path repo = dir.resolve("repo");
        CliRun b = CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString(), "--encrypt-to", opsPub.toString());
        assertEquals(0, b.exitCode(), b.toString());
        assertTrue(b.out().contains("OpenPGP to " + opsFpr), b.toString());
        String id = newestId(repo);
        Path backup = repo.resolve(id);

        // The manifest: the recipient's fingerprint, and the size and SHA-256 of what is stored.
        JsonNode m = manifest(backup);
        assertEquals("openpgp", m.at("/encryption/format").asText());
        assertEquals(opsFpr, m.at("/encryption/recipients/0/fingerprint").asText());
        assertEquals(2, m.get("files").size());
        for (JsonNode f : m.get("files")) {
            String name = f.get("name").asText();
            assertTrue(name.endsWith(".zst.gpg"), name);
            Path stored = backup.resolve(name);
            assertEquals(Files.size(stored), f.get("bytes").asLong());
            assertEquals(BackupVerifier.sha256(stored), f.get("sha256").asText());
            assertTrue(OpenPgp.looksEncrypted(Files.readAllBytes(stored)), name + " is stored as OpenPGP");
        }
        assertTrue(Files.readString(backup.resolve("SHA256SUMS")).contains("database.dump.zst.gpg"));

        // The stock-tool path of docs/encryption.md, into a fresh database: the same rows.
        String copy = pg.createDatabase("enc_backup_copy");
        pipeline(pg.env(copy), "gpg --batch --pinentry-mode loopback --passphrase-file '" + ops.passphraseFile
                + "' --decrypt '" + backup.resolve("database.dump.zst.gpg") + "' | zstd -d | pg_restore --no-owner -d " + copy);
        for (String table : List.of("users", "projects", "domains", "pages", "scrape_pages")) {
            assertEquals(pg.scalar(db, "SELECT count(*) FROM " + table), pg.scalar(copy, "SELECT count(*) FROM " + table), table);
        }
        assertEquals(1L, ((Number) pg.scalar(copy, "SELECT count(*) FROM users WHERE full_name = '" + MARKER + "'")).longValue());
        String globals = pipeline(pg.env(copy), "gpg --batch --pinentry-mode loopback --passphrase-file '" + ops.passphraseFile
                + "' --decrypt '" + backup.resolve("globals.sql.zst.gpg") + "' | zstd -d");
        assertTrue(globals.contains("CREATE ROLE"), globals);

        // verify without the key: the stored bytes are proven, and it says the content was not checked.
        CliRun v = CliRun.run(pg.env(db), dir, "verify", "--repo", repo.toString(), "--backup", id);
        assertEquals(0, v.exitCode(), v.toString());
        assertTrue(v.out().contains("content not checked without the key (--decrypt-key)"), v.toString());

        // with the key: pg_restore reads the archive's table of contents through the decryption.
        CliRun k = CliRun.run(pg.env(db), dir, "verify", "--repo", repo.toString(), "--backup", id,
                "--decrypt-key", opsSec.toString(), "--passphrase-file", ops.passphraseFile.toString());
        assertEquals(0, k.exitCode(), k.toString());
        assertFalse(k.out().contains("content not checked"), k.toString());

        // with a key the backup was not encrypted to: exit 3, naming the key it needs.
        CliRun w = CliRun.run(pg.env(db), dir, "verify", "--repo", repo.toString(), "--backup", id,
                "--decrypt-key", otherSec.toString(), "--passphrase-file", keys.resolve("else.pass").toString());
        assertEquals(3, w.exitCode(), w.toString());
        assertTrue(w.out().contains(opsFpr), w.toString());

        // One flipped byte in the middle of the stored dump: found without any key (exit 2).
        Path dump = backup.resolve("database.dump.zst.gpg");
        byte[] bytes = Files.readAllBytes(dump);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(dump, bytes);
        CliRun d = CliRun.run(pg.env(db), dir, "verify", "--repo", repo.toString(), "--backup", id);
        assertEquals(2, d.exitCode(), d.toString());
        assertTrue(d.out().contains("database.dump.zst.gpg"), d.toString());
    }

    @Test
    void noPlaintextReachesTheRepositoryAndASecretKeyIsNoRecipient() throws Exception {
        String db = seeded(pg, "enc_plain_src");
        Path repo = dir.resolve("repo");
        // Uncompressed, so that a plaintext dump would hold the marker as it is.
        CliRun b = CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString(), "--compress", "none", "--encrypt-to", opsPub.toString());
        assertEquals(0, b.exitCode(), b.toString());
        Path backup = repo.resolve(newestId(repo));
        byte[] marker = MARKER.getBytes(StandardCharsets.UTF_8);
        try (var files = Files.walk(repo)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertFalse(contains(Files.readAllBytes(f), marker), f + " holds the marker row's value in clear");
            }
        }
        // The test can fail: the same bytes decrypted by gpg hold the marker.
        Path plain = dir.resolve("database.dump");
        Gpg.Result r = ops.decrypt(backup.resolve("database.dump.gpg"), plain);
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(contains(Files.readAllBytes(plain), marker));

        // (Base backups are encrypted too now: restore/EncryptedPitrTest takes one and restores it.)
        // A public key is all backup takes: a secret key given to --encrypt-to is a usage error.
        CliRun s = CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString(), "--encrypt-to", opsSec.toString());
        assertEquals(64, s.exitCode(), s.toString());
    }

    static boolean contains(byte[] hay, byte[] needle) {
        return new String(hay, StandardCharsets.ISO_8859_1).contains(new String(needle, StandardCharsets.ISO_8859_1));
    }

    /** A shell pipeline as docs/encryption.md prints it; pipefail, so any stage's failure fails it. Returns stdout. */
    private String pipeline(Map<String, String> pgEnv, String command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "pipe", ".out");
        Path err = Files.createTempFile(dir, "pipe", ".err");
        ProcessBuilder pb = new ProcessBuilder("bash", "-o", "pipefail", "-c", command)
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(pgEnv);
        pb.environment().putAll(ops.env());
        pb.environment().put("PATH", BIN + ":" + System.getenv("PATH"));
        Process p = pb.start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), command);
        assertEquals(0, p.exitValue(), command + "\n" + Files.readString(err));
        return Files.readString(out);
    }
}
