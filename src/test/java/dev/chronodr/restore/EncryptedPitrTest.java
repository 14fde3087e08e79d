package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.crypto.OpenPgp;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.Gpg;
import dev.chronodr.wal.ArchiveCommand;

/**
 * Encrypted WAL (issue 19) end to end on a real cluster whose archive_command is the real
 * wal-push, first plain, then with --encrypt-to (a user turning encryption on later): what
 * is stored is OpenPGP that stock gpg and zstd turn back into the server's own segment; a
 * point-in-time restore over the mixed archive decrypts through restore_command with a key
 * file named in the recovery settings; a missing or wrong key stops it (exit 3, the key's
 * fingerprint named) before anything is written; verify without the key still proves the
 * stored bytes, and finds a damaged encrypted segment.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EncryptedPitrTest {
    private static final String DB = "shop";
    private static final String PASS = "correct horse " + System.nanoTime();
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final List<LocalCluster> restored = new ArrayList<>();
    private final Secret password = Secret.of("walcrypt-" + System.nanoTime());
    private Path tmp;
    private Path repo;
    private Path launcher;
    private Path bin;
    private LocalCluster pg;
    private Gpg ops;
    private Gpg other;
    private String opsFpr;
    private Path opsPub;
    private Path opsSec;
    private Path otherSec;
    private String plainBase;
    private OffsetDateTime afterBatch2;

    @BeforeAll
    void start() throws Exception {
        Optional<Path> found = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(found.isPresent(), "needs local PostgreSQL server binaries");
        bin = found.get();
        tmp = Files.createTempDirectory("chrono-dr-walcrypt-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        Path keys = Files.createDirectories(tmp.resolve("keys"));
        ops = Gpg.create(Files.createDirectories(keys.resolve("ops")), PASS);
        opsFpr = ops.generate("DR team <dr@example.org>", "ed25519", "cv25519", "never");
        opsPub = ops.exportPublic(opsFpr, keys.resolve("dr-team.pub.asc"));
        opsSec = ops.exportSecret(opsFpr, keys.resolve("dr-team.sec.asc"));
        Files.setPosixFilePermissions(opsSec, PosixFilePermissions.fromString("rw-------")); // root's: the server cannot read it
        Files.setPosixFilePermissions(ops.passphraseFile, PosixFilePermissions.fromString("rw-------"));
        other = Gpg.create(Files.createDirectories(keys.resolve("other")), "other pass");
        String otherFpr = other.generate("Someone else <else@example.org>", "ed25519", "cv25519", "never");
        otherSec = other.exportSecret(otherFpr, keys.resolve("else.sec.asc"));

        launcher = dev.chronodr.testing.ServerLauncher.write(tmp);
        repo = tmp.resolve("repo");
        Files.createDirectories(repo);
        giveToPostgres(repo);
        pg = LocalCluster.create(tmp.resolve("pg"), bin, password, LocalCluster.Options.defaults()
                .withSetting("archive_mode", "on")
                .withSetting("archive_command", PitrRestoreService.conf(ArchiveCommand.push(List.of(launcher.toString()), repo)))
                .withSetting("wal_level", "replica")
                .withSetting("wal_keep_size", "1GB") // pg_wal keeps every segment: the originals the decrypted copies are compared with
                .withSetting("autovacuum", "off"), runner);
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE orders (id serial PRIMARY KEY, batch int NOT NULL)");

        CliRun base = cli("backup", "--type", "physical", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, base.exitCode(), base::toString);
        plainBase = base.json().path("id").asText();
        insertBatch(1);
        // encryption turned on later: from now on every segment is stored for the DR team's public key
        // through pitr setup, as a user would: the key file reaches archive_command (it used to be left out)
        CliRun setup = cli("pitr", "setup", "--repo", repo.toString(), "--command", launcher.toString(), "--encrypt-to", opsPub.toString(),
                "--apply", "--format", "json");
        assertEquals(0, setup.exitCode(), setup::toString);
        String encrypted = ArchiveCommand.push(List.of(launcher.toString()), repo, List.of(opsPub.toAbsolutePath()));
        try (var c = dev.chronodr.pg.Database.connect(pg.connection(DB)); var st = c.createStatement();
             var rs = st.executeQuery("SHOW archive_command")) {
            rs.next();
            assertEquals(encrypted, rs.getString(1), "pitr setup wrote the encrypting archive_command");
        }
        Thread.sleep(500);
        CliRun inc = cli("backup", "--type", "incremental", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, inc.exitCode(), inc::toString);
        insertBatch(2);
        afterBatch2 = serverNow();
        Thread.sleep(1100);
        insertBatch(3);
        inc = cli("backup", "--type", "incremental", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, inc.exitCode(), inc::toString);
    }

    @AfterAll
    void stop() {
        for (LocalCluster c : restored) {
            c.remove();
        }
        if (pg != null) {
            pg.remove();
        }
        for (Gpg g : new Gpg[] {ops, other}) {
            if (g != null) {
                g.close();
            }
        }
        if (tmp != null) {
            try (var walk = Files.walk(tmp)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // temp files
            }
        }
    }

    @Test
    @Order(1)
    void storedSegmentsAreOpenPgpThatGpgAndZstdTurnBackIntoTheServersSegment() throws Exception {
        List<WalArchive.Entry> segments = segments();
        List<WalArchive.Entry> sealed = segments.stream().filter(WalArchive.Entry::encrypted).toList();
        assertTrue(segments.stream().anyMatch(e -> !e.encrypted()), "the segments archived before the switch stay plain: " + segments);
        assertTrue(sealed.size() >= 2, segments.toString());
        for (WalArchive.Entry e : sealed) {
            Path stored = Path.of(e.file());
            assertTrue(stored.getFileName().toString().endsWith(".zst.gpg"), e.file());
            byte[] head;
            try (InputStream in = Files.newInputStream(stored)) {
                head = in.readNBytes(8);
            }
            assertTrue(OpenPgp.looksEncrypted(head), "an OpenPGP message: " + e.file());
            assertFalse(head[0] == (byte) 0x28 && head[1] == (byte) 0xB5, "not a zstd frame");
            assertFalse(Files.exists(stored.resolveSibling(e.name() + ".zst")), "no plain copy beside it");
        }
        // the stock-tool path: gpg --decrypt F | zstd -d gives the server's own segment, byte for byte
        WalArchive.Entry one = sealed.get(0);
        Path clear = tmp.resolve("gpg-out.zst");
        Gpg.Result g = ops.decrypt(Path.of(one.file()), clear);
        assertEquals(0, g.exitCode(), g.stderr());
        Path segment = tmp.resolve("gpg-out");
        Process z = new ProcessBuilder("zstd", "-q", "-d", "-f", clear.toString(), "-o", segment.toString()).redirectErrorStream(true).start();
        assertEquals(0, z.waitFor(), new String(z.getInputStream().readAllBytes()));
        assertArrayEquals(Files.readAllBytes(pg.dataDir().resolve("pg_wal").resolve(one.name())), Files.readAllBytes(segment));
        // the sidecar: the stored bytes' SHA-256 first (sha256sum checks it without the key), then the content's, then the key
        String sums = Files.readString(Path.of(one.file()).resolveSibling(one.name() + ".sha256"));
        assertTrue(sums.contains("  " + one.name() + ".zst.gpg\n") && sums.contains("  " + one.name() + "\n") && sums.contains(opsFpr), sums);
        Process sha = new ProcessBuilder("sha256sum", "--ignore-missing", "-c", one.name() + ".sha256")
                .directory(Path.of(one.file()).getParent().toFile()).redirectErrorStream(true).start();
        String shaOut = new String(sha.getInputStream().readAllBytes());
        assertEquals(0, sha.waitFor(), shaOut);
        assertTrue(shaOut.contains(one.name() + ".zst.gpg: OK"), shaOut);
    }

    @Test
    @Order(2)
    void walFetchDecryptsWithTheKeyAndWithoutItNamesTheKeyItNeeds() throws Exception {
        List<WalArchive.Entry> segments = segments();
        WalArchive.Entry sealed = segments.stream().filter(WalArchive.Entry::encrypted).findFirst().orElseThrow();
        WalArchive.Entry plain = segments.stream().filter(e -> !e.encrypted()).findFirst().orElseThrow();
        Path out = Files.createDirectories(tmp.resolve("fetch"));

        CliRun none = cli("wal-fetch", "--repo", repo.toString(), sealed.name(), out.resolve("a").toString());
        assertEquals(3, none.exitCode(), none::toString);
        assertTrue(none.err().contains(opsFpr) && none.err().contains("no --decrypt-key"), none::toString);
        assertFalse(Files.exists(out.resolve("a")), "nothing written");

        CliRun wrong = cli("wal-fetch", "--repo", repo.toString(), "--decrypt-key", otherSec.toString(), "--passphrase-file",
                other.passphraseFile.toString(), sealed.name(), out.resolve("b").toString());
        assertEquals(3, wrong.exitCode(), wrong::toString);
        assertTrue(wrong.err().contains(opsFpr), wrong::toString);
        assertFalse(Files.exists(out.resolve("b")), "nothing written");

        CliRun right = cli("wal-fetch", "--repo", repo.toString(), "--decrypt-key", opsSec.toString(), "--passphrase-file",
                ops.passphraseFile.toString(), sealed.name(), out.resolve("c").toString());
        assertEquals(0, right.exitCode(), right::toString);
        assertArrayEquals(Files.readAllBytes(pg.dataDir().resolve("pg_wal").resolve(sealed.name())), Files.readAllBytes(out.resolve("c")));

        // a plain segment of the same archive needs no key (and unlocks none)
        CliRun old = cli("wal-fetch", "--repo", repo.toString(), "--decrypt-key", "/nonexistent/key.asc", plain.name(), out.resolve("d").toString());
        assertEquals(0, old.exitCode(), old::toString);
        assertArrayEquals(Files.readAllBytes(pg.dataDir().resolve("pg_wal").resolve(plain.name())), Files.readAllBytes(out.resolve("d")));

        CliRun argv = cli("wal-push", "--repo", repo.toString(), "--encrypt-to", opsSec.toString(), pg.dataDir().resolve("pg_wal").resolve(plain.name()).toString());
        assertEquals(64, argv.exitCode(), "a secret key is refused as a recipient: " + argv);
    }

    @Test
    @Order(3)
    void aPitrRestoreWithoutTheRightKeyNamesItAndWritesNothing() throws Exception {
        Path data = tmp.resolve("wrong/data");
        CliRun r = CliRun.run(env(), tmp, "pitr", "restore", "--repo", repo.toString(), "--point-in-time", afterBatch2.toString(),
                "--data-dir", data.toString(), "--port", String.valueOf(LocalCluster.freePort()), "--command", launcher.toString(),
                "--decrypt-key", otherSec.toString(), "--passphrase-file", other.passphraseFile.toString());
        assertEquals(3, r.exitCode(), r::toString);
        assertTrue(r.err().contains(opsFpr) && r.err().contains(otherSec.toString()), r::toString);
        assertFalse(Files.exists(data), "nothing was written");

        CliRun none = CliRun.run(env(), tmp, "restore", "--repo", repo.toString(), "--point-in-time", afterBatch2.toString(),
                "--data-dir", data.toString(), "-p", String.valueOf(LocalCluster.freePort()), "--command", launcher.toString());
        assertEquals(3, none.exitCode(), none::toString);
        assertTrue(none.err().contains(opsFpr), none::toString);
        assertFalse(Files.exists(data), "nothing was written");
    }

    @Test
    @Order(4)
    void aPitrRestoreOverTheMixedArchiveDecryptsThroughRestoreCommand() throws Exception {
        Path base = Files.createDirectories(tmp.resolve("mixed"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        int port = LocalCluster.freePort();
        CliRun r = CliRun.run(env(), tmp, "pitr", "restore", "--repo", repo.toString(), "--point-in-time", afterBatch2.toString(),
                "--data-dir", base.resolve("data").toString(), "--port", String.valueOf(port), "--command", launcher.toString(),
                "--timeout", "180", "--decrypt-key", opsSec.toString(), "--passphrase-file", ops.passphraseFile.toString(), "--format", "json");
        restored.add(LocalCluster.open(base, bin, port, password, runner));
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(plainBase, r.json().path("base_backup").asText());
        assertEquals(List.of(1, 1, 1, 2, 2, 2), batches(port, base));
        String conf = Files.readString(base.resolve("data/postgresql.auto.conf"));
        assertTrue(conf.contains("--decrypt-key") && conf.contains("--passphrase-file"), conf);
        assertFalse(conf.contains(PASS), "the recovery settings name the passphrase file, never the passphrase");
        assertFalse(Files.exists(base.resolve("data").resolve(RecoveryKeys.DIR)), "the key's copies are gone once promoted");
        restored.get(restored.size() - 1).stop();
    }

    @Test
    @Order(5)
    void verifyWithoutTheKeyProvesTheStoredBytesAndFindsADamagedSegment() throws Exception {
        CliRun ok = cli("verify", "--repo", repo.toString(), "--backup", plainBase);
        assertEquals(0, ok.exitCode(), ok::toString);
        CliRun withKey = cli("verify", "--repo", repo.toString(), "--backup", plainBase, "--decrypt-key", opsSec.toString(),
                "--passphrase-file", ops.passphraseFile.toString());
        assertEquals(0, withKey.exitCode(), withKey::toString);

        WalArchive.Entry sealed = segments().stream().filter(WalArchive.Entry::encrypted).findFirst().orElseThrow();
        Path file = Path.of(sealed.file());
        byte[] bytes = Files.readAllBytes(file);
        byte[] damaged = bytes.clone();
        damaged[damaged.length / 2] ^= 0x40;
        Files.write(file, damaged);
        try {
            CliRun bad = cli("verify", "--repo", repo.toString(), "--backup", plainBase);
            assertEquals(2, bad.exitCode(), bad::toString);
            assertTrue(bad.out().contains(sealed.name()) && bad.out().contains("stored bytes"), bad::toString);
            CliRun fetch = cli("wal-fetch", "--repo", repo.toString(), "--decrypt-key", opsSec.toString(), "--passphrase-file",
                    ops.passphraseFile.toString(), sealed.name(), tmp.resolve("damaged").toString());
            assertEquals(2, fetch.exitCode(), fetch::toString);
            assertFalse(Files.exists(tmp.resolve("damaged")));
        } finally {
            Files.write(file, bytes);
        }
    }

    @Test
    @Order(6)
    void anEncryptedBaseBackupRestoresWithTheKeyAndVerifiesWithoutIt() throws Exception {
        CliRun b = cli("backup", "--type", "physical", "--repo", repo.toString(), "--encrypt-to", opsPub.toString(), "--format", "json");
        assertEquals(0, b.exitCode(), b::toString);
        String id = b.json().path("id").asText();
        Path dir = repo.resolve(id);
        assertTrue(Files.isRegularFile(dir.resolve("base.tar.zst.gpg")) && Files.isRegularFile(dir.resolve("pg_wal.tar.zst.gpg")), id);
        assertFalse(Files.exists(dir.resolve("base.tar.zst")) || Files.exists(dir.resolve("pg_wal.tar.zst")), "no plain tar is kept");
        com.fasterxml.jackson.databind.JsonNode m = dev.chronodr.core.Json.mapper().readTree(dir.resolve("manifest.json").toFile());
        assertEquals(opsFpr, m.path("encryption").path("recipients").get(0).path("fingerprint").asText(), m.toString());
        for (com.fasterxml.jackson.databind.JsonNode f : m.path("files")) {
            if (f.path("name").asText().endsWith(".gpg")) {
                java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
                assertEquals(java.util.HexFormat.of().formatHex(sha.digest(Files.readAllBytes(dir.resolve(f.path("name").asText())))),
                        f.path("sha256").asText(), "the SHA-256 of the stored bytes: " + f);
            }
        }
        // stock tools: gpg --decrypt base.tar.zst.gpg | zstd -d | tar -t
        Path zst = tmp.resolve("base.tar.zst");
        assertEquals(0, ops.decrypt(dir.resolve("base.tar.zst.gpg"), zst).exitCode());
        Process tar = new ProcessBuilder("bash", "-c", "set -o pipefail; zstd -q -d -c '" + zst + "' | tar -t").redirectErrorStream(true).start();
        String listing = new String(tar.getInputStream().readAllBytes());
        assertEquals(0, tar.waitFor(), listing);
        assertTrue(listing.lines().anyMatch(l -> l.equals("PG_VERSION")), listing);

        insertBatch(4);
        OffsetDateTime afterBatch4 = serverNow();
        Thread.sleep(1100);
        insertBatch(5);
        CliRun inc = cli("backup", "--type", "incremental", "--repo", repo.toString(), "--encrypt-to", opsPub.toString());
        assertEquals(0, inc.exitCode(), "incremental stores nothing itself; its WAL is wal-push's to encrypt: " + inc);

        CliRun sealed = cli("verify", "--repo", repo.toString(), "--backup", id);
        assertEquals(0, sealed.exitCode(), sealed::toString);
        assertTrue(sealed.out().contains("content not checked without the key"), sealed::toString);
        CliRun opened = cli("verify", "--repo", repo.toString(), "--backup", id, "--decrypt-key", opsSec.toString(),
                "--passphrase-file", ops.passphraseFile.toString());
        assertEquals(0, opened.exitCode(), opened::toString);

        Path noKey = tmp.resolve("nokey/data");
        CliRun refused = CliRun.run(env(), tmp, "pitr", "restore", "--repo", repo.toString(), "--point-in-time", afterBatch4.toString(),
                "--data-dir", noKey.toString(), "--port", String.valueOf(LocalCluster.freePort()), "--command", launcher.toString());
        assertEquals(3, refused.exitCode(), refused::toString);
        assertTrue(refused.err().contains("base.tar.zst.gpg") && refused.err().contains(opsFpr), refused::toString);
        assertFalse(Files.exists(noKey), "nothing was written");

        Path base = Files.createDirectories(tmp.resolve("sealed"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        int port = LocalCluster.freePort();
        CliRun r = CliRun.run(env(), tmp, "restore", "--repo", repo.toString(), "--point-in-time", afterBatch4.toString(),
                "--data-dir", base.resolve("data").toString(), "-p", String.valueOf(port), "--command", launcher.toString(),
                "--timeout", "180", "--decrypt-key", opsSec.toString(), "--passphrase-file", ops.passphraseFile.toString(), "--format", "json");
        restored.add(LocalCluster.open(base, bin, port, password, runner));
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(id, r.json().path("base_backup").asText());
        String start = b.json().path("pitr").path("start_wal_file").asText();
        assertTrue(segments().stream().filter(e -> e.name().compareTo(start) >= 0).allMatch(WalArchive.Entry::encrypted),
                "every segment replayed from this base backup is encrypted");
        assertEquals(List.of(1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4), batches(port, base));
        restored.get(restored.size() - 1).stop();

        Path stored = dir.resolve("base.tar.zst.gpg");
        byte[] bytes = Files.readAllBytes(stored);
        byte[] damaged = bytes.clone();
        damaged[damaged.length / 2] ^= 0x01;
        Files.write(stored, damaged);
        try {
            CliRun bad = cli("verify", "--repo", repo.toString(), "--backup", id);
            assertEquals(2, bad.exitCode(), "a damaged encrypted base is found without the key: " + bad);
            assertTrue(bad.out().contains("base.tar.zst.gpg"), bad::toString);
        } finally {
            Files.write(stored, bytes);
        }
    }

    @Test
    @Order(7)
    void thePitrDrillTakesAnEncryptedBaseAndReplaysEncryptedWalWithTheKey() throws Exception {
        CliRun r = cli("dr-test", "--pitr", "--fresh", "--repo", repo.toString(), "--command", launcher.toString(),
                "--encrypt-to", opsPub.toString(), "--decrypt-key", opsSec.toString(), "--passphrase-file", ops.passphraseFile.toString(),
                "--format", "json");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.json().path("passed").asBoolean(), r::toString);
        String base = r.json().path("base_backup").asText();
        assertTrue(Files.isRegularFile(repo.resolve(base).resolve("base.tar.zst.gpg")), "the drill's fresh base backup is encrypted too");
        for (com.fasterxml.jackson.databind.JsonNode s : r.json().path("steps")) {
            assertTrue(List.of("PASSED", "SKIPPED").contains(s.path("outcome").asText()), s::toString);
        }
    }

    private List<WalArchive.Entry> segments() {
        return new WalArchive(repo).list().stream().filter(WalArchive.Entry::isSegment).toList();
    }

    private List<Integer> batches(int port, Path base) throws SQLException {
        List<Integer> out = new ArrayList<>();
        try (Connection c = Database.connect(LocalCluster.open(base, bin, port, password, runner).connection(DB));
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT batch FROM orders ORDER BY id")) {
            while (rs.next()) {
                out.add(rs.getInt(1));
            }
        }
        return out;
    }

    private void insertBatch(int n) {
        pg.execute(DB, "INSERT INTO orders (batch) SELECT " + n + " FROM generate_series(1, 3)");
    }

    private OffsetDateTime serverNow() throws SQLException {
        try (Connection c = Database.connect(pg.connection(DB)); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT clock_timestamp()")) {
            rs.next();
            return rs.getObject(1, OffsetDateTime.class);
        }
    }

    private Map<String, String> env() {
        return dev.chronodr.testing.PgCluster.wrap(pg).env(DB);
    }

    private CliRun cli(String... args) {
        return CliRun.run(env(), tmp, args);
    }

    private static void giveToPostgres(Path p) throws IOException {
        if (!"root".equals(System.getProperty("user.name"))) {
            return;
        }
        UserPrincipal u = p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        Files.setOwner(p, u);
    }
}
