package dev.chronodr.backup;

import static dev.chronodr.testing.DockerEngine.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.parallel.ResourceLock;

import com.fasterxml.jackson.databind.JsonNode;

import software.amazon.awssdk.core.sync.RequestBody;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.ExitCode;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.RepoLocation;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.restore.IncrementalRestore;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.DockerEngine;
import dev.chronodr.testing.DockerTest;
import dev.chronodr.testing.S3Server;

/**
 * PostgreSQL 17's incremental base backups with the repository in a bucket (S3Proxy on a
 * loopback port), the database in a container and chrono-dr on the host (--exec docker):
 * pg_basebackup runs in the container, gets the parent's backup_manifest (copied out of the
 * bucket, checked) on stdin and sends its tar back over stdout; chrono-dr uploads from the
 * host, so the container never reaches the endpoint. Its WAL reaches the bucket through a
 * relay of the test's own: archive_command copies each file into a mounted directory and a
 * thread here pushes it with {@link WalArchive#push}, the code wal-push runs (chrono-dr is
 * not inside the image, and the container has no route to the loopback endpoint).
 */
@DockerTest(postgres = 17)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ResourceLock("spool") // asserts this process's spool is empty, as S3PitrTest does: never beside it
class IncrementalS3Backup17Test {
    private static final String IMAGE = DockerEngine.postgresImage(17);
    private static final String PASSWORD = "pw-" + Long.toString(System.nanoTime(), 36);
    private static final String BUCKET = "incr";
    private static final String REPO = "s3://" + BUCKET + "/prod";
    private static final String ARCHIVE = "cp %p /archive/.%f.tmp && mv /archive/.%f.tmp /archive/%f";
    private static final String DIGEST = "SELECT md5(string_agg(i::text, ',' ORDER BY id)) || ':' || count(*) FROM items i";

    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final String name = "chronodr-s3incr-" + Long.toString(System.nanoTime(), 36);
    private final List<String> containers = new ArrayList<>();
    private Path dir;
    private Path outbox;
    private S3Server s3;
    private Repository repo;
    private Thread relay;
    private volatile boolean relaying = true;
    private volatile String relayError;
    private int port;
    private String fullId;
    private String incId;
    private String expected;

    @BeforeAll
    void up() throws Exception {
        dir = Files.createTempDirectory("chrono-dr-s3incr-");
        s3 = S3Server.start(dir.resolve("s3"), BUCKET);
        repo = Repository.open(RepoLocation.parse(REPO, new Environment(s3.env(), dir)));
        outbox = Files.createDirectories(dir.resolve("outbox"));
        Files.setPosixFilePermissions(outbox, PosixFilePermissions.fromString("rwxrwxrwx")); // the container's postgres writes it
        relay = new Thread(this::relay, "wal-relay");
        relay.setDaemon(true);
        relay.start();
        port = freePort();
        containers.add(name);
        docker("run", "-d", "--name", name, "-e", "POSTGRES_PASSWORD=" + PASSWORD, "-e", "POSTGRES_USER=chrono", "-e", "POSTGRES_DB=shop",
                "-p", "127.0.0.1:" + port + ":5432", "-v", outbox + ":/archive", IMAGE,
                "postgres", "-c", "fsync=off", "-c", "archive_mode=on", "-c", "archive_command=" + ARCHIVE);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            try (Connection c = connect()) {
                break;
            } catch (SQLException e) {
                assertTrue(System.nanoTime() < deadline, "the PostgreSQL 17 container did not come up: " + docker("logs", name));
                Thread.sleep(300);
            }
        }
        sql("ALTER SYSTEM SET summarize_wal = on", "SELECT pg_reload_conf()",
                "CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, pad text NOT NULL)",
                "INSERT INTO items SELECT g, 0, repeat('x', 200) FROM generate_series(1, 20000) g");
    }

    /** Pushes what the server archived into the outbox to the bucket's WAL archive, as wal-push would. */
    private void relay() {
        WalArchive archive = new WalArchive(repo);
        while (relaying) {
            try (var ls = Files.list(outbox)) {
                for (Path f : ls.sorted().toList()) {
                    if (!f.getFileName().toString().startsWith(".")) {
                        archive.push(f);
                        Files.delete(f);
                    }
                }
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            } catch (IOException | RuntimeException e) {
                relayError = String.valueOf(e);
            }
        }
    }

    @AfterAll
    void down() throws Exception {
        relaying = false;
        if (relay != null) {
            relay.interrupt();
            relay.join(10_000);
        }
        for (String c : containers) {
            try {
                docker("rm", "-f", "-v", c);
            } catch (AssertionError e) {
                System.err.println("could not remove container " + c + ": " + e.getMessage());
            }
        }
        if (s3 != null) {
            s3.close();
        }
        if (dir != null) {
            Repository.deleteQuietly(dir);
        }
    }

    @Test
    @Order(1)
    void aFullAndAnIncrementalGoIntoTheBucketAreListedVerifiedAndKeptAsAChain() throws Exception {
        CliRun full = chrono("backup", "--type", "physical", "--format", "json");
        assertEquals(0, full.exitCode(), full::toString);
        fullId = full.json().path("id").asText();

        sql("UPDATE items SET v = v + 1 WHERE id <= 1000", "DELETE FROM items WHERE id BETWEEN 19001 AND 19100",
                "INSERT INTO items VALUES (100001, 1, 'after the full backup')");
        expected = digest();
        CliRun inc = chrono("backup", "--type", "incremental", "--format", "json");
        assertEquals(0, inc.exitCode(), inc::toString);
        assertEquals(IncrementalResult.NATIVE, inc.json().path("method").asText(), inc::toString);
        assertEquals(fullId, inc.json().path("base_backup").asText(), inc::toString);
        incId = inc.json().path("backup").path("id").asText();
        assertTrue(spoolLeftovers().isEmpty(), "the parent's backup_manifest and the spooled backup are gone: " + spoolLeftovers());

        List<String> keys = s3.keys(BUCKET);
        for (String id : List.of(fullId, incId)) {
            for (String f : List.of("base.tar.zst", "backup_manifest", "physical.json", "SHA256SUMS", "manifest.json")) {
                assertTrue(keys.contains("prod/" + id + "/" + f), id + "/" + f + " in " + keys);
            }
        }
        PhysicalBackupInfo info = PitrCatalog.of(repo).byId(incId).orElseThrow();
        assertEquals(fullId, info.parent(), "physical.json in the bucket records the parent");
        String tool = new String(read("prod/" + incId + "/manifest.json"), StandardCharsets.UTF_8);
        assertTrue(tool.contains("docker pg_basebackup") && tool.contains("--incremental against " + fullId), tool);
        assertTrue(size("prod/" + incId + "/base.tar.zst") < size("prod/" + fullId + "/base.tar.zst") / 2,
                "the incremental holds the changed blocks only");
        assertTrue(keys.contains("prod/wal/00000001/" + info.stopWalFile() + ".zst"), "its last segment is in the bucket's archive");

        CliRun list = chrono("list");
        assertEquals(0, list.exitCode(), list::toString);
        assertTrue(list.out().contains("incremental of " + fullId), list::toString);

        // this host has pg_verifybackup 15 at most, which cannot read 17's manifests: without an image that is UNKNOWN, not damage
        if (IncrementalRestore.locate(null, 17).isEmpty()) {
            Map<String, String> noImage = new HashMap<>(env());
            noImage.remove(IncrementalRestore.IMAGE_VAR);
            CliRun unknown = CliRun.run(noImage, dir, args("verify", "--backup", incId));
            assertEquals(3, unknown.exitCode(), unknown::toString);
            assertTrue(unknown.err().contains("cannot read its manifest"), unknown::toString);
        }
        // with one it runs from the image, as pg_combinebackup does
        CliRun verify = chrono("verify", "--backup", incId);
        assertEquals(0, verify.exitCode(), verify::toString);
        assertTrue(spoolLeftovers().isEmpty(), "verify's copy is gone: " + spoolLeftovers());

        // keep the newest only: the full one stays, since the kept incremental needs it
        CliRun clean = chrono("cleanup", "--keep-last", "1", "--format", "json");
        assertEquals(0, clean.exitCode(), clean::toString);
        JsonNode backups = chrono("list", "--format", "json").json().path("backups");
        List<String> ids = new ArrayList<>();
        backups.forEach(b -> ids.add(b.path("id").asText()));
        assertTrue(ids.contains(fullId) && ids.contains(incId), "cleanup kept the chain: " + clean + ids);
        assertTrue(s3.keys(BUCKET).contains("prod/" + fullId + "/base.tar.zst"));
        assertEquals(null, relayError, "the WAL relay pushed everything");
    }

    @Test
    @Order(2)
    void theChainRestoredFromTheBucketHoldsTheIncrementalsData() throws Exception {
        PitrCatalog catalog = PitrCatalog.of(repo);
        PhysicalBackupInfo last = catalog.byId(incId).orElseThrow();
        IncrementalRestore restore = IncrementalRestore.of(catalog, last, null,
                new Environment(Map.of(IncrementalRestore.IMAGE_VAR, IMAGE), dir), runner);
        assertEquals(List.of(fullId, incId), restore.chain().stream().map(PhysicalBackupInfo::id).toList());
        Path data = Files.createDirectories(dir.resolve("restored").resolve("data"));
        restore.combineInto(data, null, List.of());
        assertTrue(spoolLeftovers().isEmpty(), "the chain's copies are gone from the spool: " + spoolLeftovers());
        // the WAL from the incremental's start to its end, out of the bucket, as a restore's wal-fetch hands it out
        WalArchive archive = new WalArchive(repo);
        for (String seg = last.startWalFile(); seg.compareTo(last.stopWalFile()) <= 0; seg = PitrCatalog.next(seg, last.walSegmentSize())) {
            assertTrue(archive.fetch(seg, data.resolve("pg_wal").resolve(seg)).isPresent(), "archived in the bucket: " + seg);
        }
        docker("run", "--rm", "--network", "none", "-v", data + ":/d", "--entrypoint", "chown", IMAGE, "-R", "postgres:postgres", "/d");
        String copy = name + "-restored";
        containers.add(copy);
        docker("run", "-d", "--name", copy, "--network", "none", "-v", data + ":/var/lib/postgresql/data", IMAGE);
        String got = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (got == null) {
            try {
                got = docker("exec", copy, "psql", "-U", "chrono", "-d", "shop", "-Atc", DIGEST).strip();
            } catch (AssertionError notYet) {
                assertTrue(System.nanoTime() < deadline, "the combined copy did not start: " + docker("logs", copy));
                Thread.sleep(500);
            }
        }
        assertEquals(expected, got, "the chain combined out of the bucket holds the data as of the incremental");
    }

    @Test
    @Order(3)
    void aDamagedObjectOfAParentFailsTheNextIncrementalAndTheChainsVerifyAndRestoreWithExit2() throws Exception {
        // the parent's backup_manifest, which pg_basebackup --incremental is fed, is checked on its way out of the bucket
        String parentManifest = "prod/" + incId + "/backup_manifest";
        byte[] original = flipByte(parentManifest);
        List<String> before = s3.keys(BUCKET).stream().filter(k -> !k.startsWith("prod/wal/")).toList();
        sql("UPDATE items SET v = v + 100 WHERE id <= 10");
        CliRun next = chrono("backup", "--type", "incremental", "--format", "json");
        assertEquals(2, next.exitCode(), next::toString);
        assertTrue(next.out().contains("backup_manifest of backup " + incId) && next.out().contains("damaged"), next::toString);
        assertEquals(before, s3.keys(BUCKET).stream().filter(k -> !k.startsWith("prod/wal/")).toList(), "nothing new in the bucket");
        assertTrue(spoolLeftovers().isEmpty(), spoolLeftovers()::toString);
        s3.client().putObject(p -> p.bucket(BUCKET).key(parentManifest), RequestBody.fromBytes(original));

        // the full backup under the incremental damaged: the incremental cannot be restored, and says why
        flipByte("prod/" + fullId + "/base.tar.zst");
        CliRun verify = chrono("verify", "--backup", incId);
        assertEquals(2, verify.exitCode(), verify::toString);
        assertTrue(verify.out().contains(fullId), verify::toString);
        assertTrue(spoolLeftovers().isEmpty(), spoolLeftovers()::toString);

        PitrCatalog catalog = PitrCatalog.of(repo);
        IncrementalRestore restore = IncrementalRestore.of(catalog, catalog.byId(incId).orElseThrow(), null,
                new Environment(Map.of(IncrementalRestore.IMAGE_VAR, IMAGE), dir), runner);
        Path parent = Files.createDirectories(dir.resolve("restored-damaged"));
        Path data = Files.createDirectories(parent.resolve("data"));
        ChronoException e = assertThrows(ChronoException.class, () -> restore.combineInto(data, null, List.of()));
        assertEquals(ExitCode.CRITICAL, e.exitCode(), e::getMessage);
        assertTrue(e.getMessage().contains(fullId) && e.getMessage().contains("damaged"), e::getMessage);
        try (var ls = Files.list(parent)) {
            assertEquals(List.of(data), ls.toList(), "no scratch directory beside the destination");
        }
        try (var ls = Files.list(data)) {
            assertEquals(0, ls.count(), "nothing written at the destination");
        }
        assertTrue(spoolLeftovers().isEmpty(), "the copies are removed after the failure: " + spoolLeftovers());
    }

    /** Flips one byte of an object behind chrono-dr's back; the original bytes back. */
    private byte[] flipByte(String key) throws IOException {
        byte[] original = read(key);
        byte[] bytes = original.clone();
        bytes[bytes.length / 2] ^= 0x01;
        s3.client().putObject(p -> p.bucket(BUCKET).key(key), RequestBody.fromBytes(bytes));
        return original;
    }

    private byte[] read(String key) throws IOException {
        try (var in = s3.client().getObject(g -> g.bucket(BUCKET).key(key))) {
            return in.readAllBytes();
        }
    }

    private long size(String key) {
        return s3.client().headObject(h -> h.bucket(BUCKET).key(key)).contentLength();
    }

    /**
     * This process's base backups in the spool: spooled on their way up, parents' manifests,
     * copies. The spool is shared with other classes; the one that also spools base backups
     * (S3PitrTest) never runs beside this one (the "spool" lock).
     */
    private static List<String> spoolLeftovers() throws IOException {
        Path spool = Repository.spoolDirectory();
        if (!Files.isDirectory(spool)) {
            return List.of();
        }
        String pid = ProcessHandle.current().pid() + "-";
        try (var ls = Files.list(spool)) {
            return ls.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(pid) && n.contains("cluster_physical")).toList();
        }
    }

    private String digest() throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(DIGEST)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private CliRun chrono(String... args) {
        return CliRun.run(env(), dir, args(args));
    }

    private String[] args(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--exec", "docker", "--container", name, "-h", "127.0.0.1", "-p", String.valueOf(port), "-U", "chrono",
                "-d", "shop", "--repo", REPO));
        return all.toArray(String[]::new);
    }

    private Map<String, String> env() {
        Map<String, String> env = new HashMap<>(System.getenv());
        List.of("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "CHRONO_DR_CONFIG", "CHRONO_DR_REPO").forEach(env::remove);
        env.put("PGPASSWORD", PASSWORD);
        env.putAll(s3.env());
        env.put(IncrementalRestore.IMAGE_VAR, IMAGE);
        return env;
    }

    private Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "chrono");
        p.setProperty("password", PASSWORD);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/shop", p);
    }

    private void sql(String... statements) throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
