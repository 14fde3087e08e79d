package dev.chronodr.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.Gpg;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;
import dev.chronodr.testing.S3Server;

/**
 * restore of encrypted backups (issue 19): with the key the data comes back (streamed, and
 * through the parallel path's decrypted copy); without it, with a wrong one, or with damaged
 * ciphertext, one line and the documented exit code, and the live database is not touched.
 * The same on an s3:// repository.
 */
@PostgresTest
class EncryptedRestoreTest {
    private static final String BUCKET = "enc";
    static final String OPS_PASS = "ops: restore side";

    @TempDir
    static Path keys;
    @TempDir
    Path dir;

    static Gpg ops;
    static Gpg other;
    static String opsFpr;
    static Path opsPub;
    static Path opsSec;
    static Path opsPass;
    static String otherFpr;
    static Path otherSec;
    static Path otherPass;
    static S3Server s3;

    private final PgCluster pg;

    EncryptedRestoreTest(PgCluster pg) {
        this.pg = pg;
    }

    @BeforeAll
    static void setUp() throws Exception {
        ops = Gpg.create(Files.createDirectories(keys.resolve("ops")), OPS_PASS);
        opsFpr = ops.generate("DR team <dr@example.org>", "ed25519", "cv25519", "never");
        opsPub = ops.exportPublic(opsFpr, keys.resolve("dr-team.pub.asc"));
        opsSec = ops.exportSecret(opsFpr, keys.resolve("dr-team.sec.asc"));
        opsPass = Files.writeString(keys.resolve("dr-team.pass"), OPS_PASS + "\n");
        Files.setPosixFilePermissions(opsPass, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        other = Gpg.create(Files.createDirectories(keys.resolve("other")), "other pass");
        otherFpr = other.generate("Someone else <else@example.org>", "ed25519", "cv25519", "never");
        otherSec = other.exportSecret(otherFpr, keys.resolve("else.sec.asc"));
        otherPass = Files.writeString(keys.resolve("else.pass"), "other pass\n");
        Files.setPosixFilePermissions(otherPass, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        s3 = S3Server.start(keys.resolve("s3"), BUCKET);
    }

    @AfterAll
    static void tearDown() throws Exception {
        for (Gpg g : new Gpg[] {ops, other}) {
            if (g != null) {
                g.close();
            }
        }
        if (s3 != null) {
            s3.close();
        }
    }

    private String items(String db) {
        pg.execute("postgres", "DROP DATABASE IF EXISTS \"" + db + "\" WITH (FORCE)");
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)");
        pg.execute(db, "INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
        pg.execute(db, "CREATE TABLE notes (id int PRIMARY KEY, item int REFERENCES items, body text)");
        pg.execute(db, "INSERT INTO notes SELECT g, g, 'note ' || g FROM generate_series(1, 300) g");
        return db;
    }

    private Map<String, Object> content(String db) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("items", pg.scalar(db, "SELECT count(*) || ':' || md5(string_agg(id || name, ',' ORDER BY id)) FROM items"));
        out.put("notes", pg.scalar(db, "SELECT count(*) || ':' || md5(string_agg(id || body, ',' ORDER BY id)) FROM notes"));
        return out;
    }

    private String backup(Map<String, String> env, String repo) throws IOException {
        CliRun b = CliRun.run(env, dir, "backup", "--repo", repo, "--encrypt-to", opsPub.toString(), "--format", "json");
        assertEquals(0, b.exitCode(), b.toString());
        return b.json().at("/manifest/id").asText();
    }

    private List<String> withKey(String... args) {
        List<String> out = new java.util.ArrayList<>(List.of(args));
        out.addAll(List.of("--decrypt-key", opsSec.toString(), "--passphrase-file", opsPass.toString()));
        return out;
    }

    @Test
    void withTheKeyTheDataComesBackAndWithoutItNothingIsTouched() throws Exception {
        String db = items("enc_live");
        Path repo = dir.resolve("repo");
        Map<String, Object> original = content(db);
        String id = backup(pg.env(db), repo.toString());

        // Beside the live database, streamed (one job), roles read from the encrypted globals.
        CliRun r = CliRun.run(pg.env(db), dir, withKey("restore", "--repo", repo.toString(), "--backup-id", id,
                "--target-db", "enc_beside", "--with-globals").toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(original, content("enc_beside"));

        // The live database changes; each refusal below must leave it exactly so.
        pg.execute(db, "DELETE FROM notes WHERE id > 100");
        pg.execute(db, "UPDATE items SET name = 'changed' WHERE id < 10");
        Map<String, Object> changed = content(db);

        // No key at all: exit 3, naming the key's fingerprint and the option.
        CliRun none = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes");
        assertEquals(3, none.exitCode(), none.toString());
        assertTrue(none.err().contains(opsFpr) && none.err().contains("--decrypt-key"), none.toString());
        assertEquals(changed, content(db));

        // Someone else's key: exit 3, naming the key needed and the key given.
        CliRun wrong = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "-j", "2",
                "--decrypt-key", otherSec.toString(), "--passphrase-file", otherPass.toString());
        assertEquals(3, wrong.exitCode(), wrong.toString());
        assertTrue(wrong.err().contains(opsFpr) && wrong.err().contains(otherFpr), wrong.toString());
        assertEquals(changed, content(db));

        // The right key, replacing the live database through the parallel path's decrypted copy.
        CliRun replace = CliRun.run(pg.env(db), dir, withKey("restore", "--repo", repo.toString(), "--latest", "--yes", "-j", "2")
                .toArray(String[]::new));
        assertEquals(0, replace.exitCode(), replace.toString());
        assertEquals(original, content(db));
        try (var left = Files.list(repo.resolve(".partial").resolve(".unpack"))) {
            assertEquals(0, left.count(), "the decrypted copy is removed");
        }

        // Damaged ciphertext: refused before anything is touched, streamed or parallel.
        pg.execute(db, "DELETE FROM notes WHERE id > 200");
        Map<String, Object> before = content(db);
        Path dump = repo.resolve(id).resolve("database.dump.zst.gpg");
        byte[] bytes = Files.readAllBytes(dump);
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(dump, bytes);
        for (String jobs : List.of("1", "2")) {
            CliRun d = CliRun.run(pg.env(db), dir, withKey("restore", "--repo", repo.toString(), "--backup-id", id, "--yes", "-j", jobs)
                    .toArray(String[]::new));
            assertEquals(1, d.exitCode(), d.toString());
            assertTrue(d.err().contains("corrupt") && d.err().contains("nothing was touched"), d.toString());
            assertEquals(before, content(db));
        }
        assertEquals(0L, ((Number) pg.scalar("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'enc\\_live\\_restore\\_%'"))
                .longValue(), "no staging database left");
    }

    @Test
    void theConfigsEncryptionSectionEncryptsAndDecryptsWithoutFlags() throws Exception {
        String db = items("enc_config");
        Path repo = dir.resolve("repo");
        Path config = Files.writeString(dir.resolve("chrono-dr.yaml"), String.join("\n",
                "targets:",
                "  prod:",
                "    repo: " + repo,
                "    encryption:",
                "      recipients: [" + opsPub + "]",
                "      decrypt_key: " + opsSec,
                "      passphrase_file: " + opsPass,
                ""));
        CliRun b = CliRun.run(pg.env(db), dir, "backup", "--config", config.toString());
        assertEquals(0, b.exitCode(), b.toString());
        try (var ids = Files.list(repo)) {
            Path backup = ids.filter(p -> !p.getFileName().toString().startsWith(".")).findFirst().orElseThrow();
            assertTrue(Files.isRegularFile(backup.resolve("database.dump.zst.gpg")), "encrypted by the config's recipients");
        }
        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--config", config.toString(), "--latest", "--target-db", "enc_config_copy");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(content(db), content("enc_config_copy"));
    }

    @Test
    void drTestEncryptsItsOwnBackupAndDecryptsItWithTheKeyOnly() throws Exception {
        String db = items("enc_drill");
        Path repo = dir.resolve("repo");
        CliRun d = CliRun.run(pg.env(db), dir, withKey("dr-test", "--repo", repo.toString(), "--encrypt-to", opsPub.toString(),
                "--format", "json").toArray(String[]::new));
        assertEquals(0, d.exitCode(), d.toString());
        String id = d.json().get("backup_id").asText();
        assertTrue(Files.isRegularFile(repo.resolve(id).resolve("database.dump.zst.gpg")), "the drill's own backup is encrypted");

        // The same backup without the key: the drill cannot run (3), and says which key it needs.
        CliRun none = CliRun.run(pg.env(db), dir, "dr-test", "--repo", repo.toString(), "--latest");
        assertEquals(3, none.exitCode(), none.toString());
        assertTrue((none.out() + none.err()).contains(opsFpr), none.toString());
        assertEquals(0L, ((Number) pg.scalar("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE '%_dr_test_%'")).longValue(),
                "no scratch database left");
    }

    @Test
    void anEncryptedBackupOnObjectStorageIsVerifiedWithoutTheKeyAndRestoredWithIt() throws Exception {
        String db = items("enc_s3");
        Map<String, String> env = new HashMap<>(pg.env(db));
        env.putAll(s3.env());
        String repo = "s3://" + BUCKET + "/prod";
        String id = backup(env, repo);
        List<String> stored = s3.keys(BUCKET).stream().filter(k -> k.startsWith("prod/" + id + "/")).toList();
        assertTrue(stored.contains("prod/" + id + "/database.dump.zst.gpg"), stored.toString());
        assertFalse(stored.stream().anyMatch(k -> k.endsWith(".zst")), "no unencrypted data object: " + stored);

        CliRun v = CliRun.run(env, dir, "verify", "--repo", repo, "--backup", id);
        assertEquals(0, v.exitCode(), v.toString());
        assertTrue(v.out().contains("content not checked without the key"), v.toString());
        CliRun vk = CliRun.run(env, dir, withKey("verify", "--repo", repo, "--backup", id).toArray(String[]::new));
        assertEquals(0, vk.exitCode(), vk.toString());

        CliRun r = CliRun.run(env, dir, withKey("restore", "--repo", repo, "--backup-id", id, "--target-db", "enc_s3_copy")
                .toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(content(db), content("enc_s3_copy"));
    }
}
