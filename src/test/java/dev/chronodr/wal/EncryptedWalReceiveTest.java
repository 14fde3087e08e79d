package dev.chronodr.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.chronodr.config.ConnectionRequest;
import dev.chronodr.config.Target;
import dev.chronodr.config.TargetResolver;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Secret;
import dev.chronodr.crypto.OpenPgp;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.crypto.SecretKeys;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.Gpg;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;

/**
 * wal-receive with recipients stores what it streams encrypted, completed segments and the
 * segment being received (NAME.partial) alike, through wal-push's one path; wal-fetch
 * decrypts both with the key (the partial padded to a whole segment) and names the key
 * without it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EncryptedWalReceiveTest {
    private static final String DB = "shop";
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final Secret password = Secret.of("walrecv-enc-" + System.nanoTime());
    private Path tmp;
    private Path repo;
    private LocalCluster pg;
    private Gpg ops;
    private WalReceiver.Stop stop;
    private CompletableFuture<WalReceiveResult> receiving;

    @BeforeAll
    void start() throws Exception {
        Optional<Path> found = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(found.isPresent(), "needs local PostgreSQL server binaries");
        tmp = Files.createTempDirectory("chrono-dr-walrecv-enc-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        repo = Files.createDirectories(tmp.resolve("repo"));
        ops = Gpg.create(Files.createDirectories(tmp.resolve("ops")), "receiver pass");
        pg = LocalCluster.create(tmp.resolve("pg"), found.get(), password, LocalCluster.Options.defaults()
                .withSetting("wal_level", "replica")
                .withSetting("max_wal_senders", "10")
                .withSetting("max_replication_slots", "10")
                .withSetting("max_slot_wal_keep_size", "'1GB'")
                .withSetting("wal_keep_size", "'1GB'")
                .withSetting("autovacuum", "off"), runner);
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE orders (id bigint PRIMARY KEY)");
    }

    @AfterAll
    void cleanUp() throws Exception {
        if (stop != null) {
            stop.request();
            receiving.get(60, TimeUnit.SECONDS);
        }
        if (pg != null) {
            pg.remove();
        }
        if (ops != null) {
            ops.close();
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
    void completedAndPartialSegmentsAreStoredEncryptedAndFetchedWithTheKey() throws Exception {
        String fpr = ops.generate("DR team <dr@example.org>", "ed25519", "cv25519", "never");
        Path pub = ops.exportPublic(fpr, tmp.resolve("dr.pub.asc"));
        Path sec = ops.exportSecret(fpr, tmp.resolve("dr.sec.asc"));
        Recipients to = Recipients.load(List.of(pub));

        stop = new WalReceiver.Stop();
        Target target = new TargetResolver(new Environment(PgCluster.wrap(pg).env(DB), tmp)).resolve(new ConnectionRequest(
                null, null, null, null, null, null, null, null, null, null, null, null, repo.toString(), false));
        WalReceiveRequest req = new WalReceiveRequest(target, tmp.resolve("spool"), "chrono_dr", null, Duration.ofSeconds(1), false,
                Duration.ofSeconds(2));
        WalReceiver.Stop mine = stop;
        receiving = CompletableFuture.supplyAsync(() -> new WalReceiver(runner, new ToolLocator(runner, System.getenv()), to)
                .run(req, mine, line -> { }));

        pg.execute(DB, "INSERT INTO orders VALUES (1)");
        waitFor(() -> Boolean.TRUE.equals(PgCluster.wrap(pg).scalar(DB,
                "SELECT coalesce((SELECT active FROM pg_replication_slots WHERE slot_name = 'chrono_dr'), false)")), "the slot is active");
        String switched = PgCluster.wrap(pg).scalar(DB, "SELECT pg_walfile_name(pg_switch_wal())").toString();
        WalArchive archive = new WalArchive(repo);
        waitFor(() -> archive.contains(switched), "segment " + switched + " archived");
        pg.execute(DB, "INSERT INTO orders VALUES (2)");
        String current = PgCluster.wrap(pg).scalar(DB, "SELECT pg_walfile_name(pg_current_wal_insert_lsn())").toString();
        waitFor(() -> archive.contains(current + ".partial"), "the segment being received stored as .partial");

        for (String name : List.of(switched, current + ".partial")) {
            WalArchive.Entry e = archive.list().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
            assertTrue(e.encrypted() && e.file().endsWith(name + ".zst.gpg"), e::toString);
            try (InputStream in = Files.newInputStream(Path.of(e.file()))) {
                assertTrue(OpenPgp.looksEncrypted(in.readNBytes(8)), e.file());
            }
        }

        SecretKeys keys = SecretKeys.load(sec, Secret.of("receiver pass"));
        Path dest = tmp.resolve("fetched");
        assertTrue(WalService.fetch(new Repository(repo), switched, dest, null, () -> keys).found());
        assertArrayEquals(Files.readAllBytes(pg.dataDir().resolve("pg_wal").resolve(switched)), Files.readAllBytes(dest));
        Files.delete(dest);
        assertTrue(WalService.fetch(new Repository(repo), current, dest, null, () -> keys).found(), "the partial, under the segment's name");
        assertEquals(16L << 20, Files.size(dest), "padded to a whole segment");
        Files.delete(dest);

        // monitor measures the lag to the encrypted partial without the key: its sidecar says how far it holds WAL
        pg.execute(DB, "INSERT INTO orders SELECT g FROM generate_series(100, 20099) g"); // about 1 MB of WAL in this segment
        String lsn = PgCluster.wrap(pg).scalar(DB, "SELECT pg_current_wal_lsn()::text").toString();
        waitFor(() -> {
            CliRun r = CliRun.run(PgCluster.wrap(pg).env(DB), tmp, "monitor", "--check", "wal_stream", "--repo", repo.toString(), "--format", "json");
            for (JsonNode c : r.json().get("checks")) {
                if (c.path("name").asText().equals("wal_stream")) {
                    return c.at("/items/0/archived_to").asText().contains(".partial") && c.at("/items/0/lag_bytes").asLong(Long.MAX_VALUE) <= 8192;
                }
            }
            return false;
        }, "wal_stream measured to the encrypted partial segment, within 8 kB of " + lsn);

        ChronoException none = org.junit.jupiter.api.Assertions.assertThrows(ChronoException.class,
                () -> WalService.fetch(new Repository(repo), switched, dest, null));
        assertEquals(ExitCode.UNKNOWN, none.exitCode());
        assertTrue(none.getMessage().contains(fpr), none.getMessage());
        assertTrue(!Files.exists(dest));
    }

    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 30 s: " + what);
            }
            Thread.sleep(100);
        }
    }
}
