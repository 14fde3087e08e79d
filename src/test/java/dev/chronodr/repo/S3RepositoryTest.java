package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;
import dev.chronodr.testing.S3Server;

/**
 * s3:// repositories through the real command line, against a real S3 protocol server
 * (S3Proxy on a loopback port) and a real PostgreSQL cluster.
 */
@PostgresTest
class S3RepositoryTest {
    private static final String BUCKET = "backups";
    @RegisterExtension
    static final S3Server server = S3Server.perClass(BUCKET);
    private final PgCluster pg;
    @TempDir
    Path dir;

    S3RepositoryTest(PgCluster pg) {
        this.pg = pg;
    }

    private Map<String, String> env(String db) {
        Map<String, String> env = new HashMap<>(pg.env(db));
        env.putAll(server.env());
        return env;
    }

    private String items(String db, int rows) {
        pg.execute("postgres", "DROP DATABASE IF EXISTS \"" + db + "\" WITH (FORCE)");
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)");
        pg.execute(db, "INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, " + rows + ") g");
        return db;
    }

    private Object digest(String db) {
        return pg.scalar(db, "SELECT md5(string_agg(id || ':' || name, ',' ORDER BY id)) FROM items");
    }

    private List<String> keysUnder(String prefix) {
        return server.keys(BUCKET).stream().filter(k -> k.startsWith(prefix + "/")).toList();
    }

    private JsonNode list(Map<String, String> env, String repo) {
        CliRun r = CliRun.run(env, dir, "list", "--repo", repo, "--format", "json");
        assertEquals(0, r.exitCode(), r::toString);
        return r.json().get("backups");
    }

    @Test
    void logicalBackupRoundTripThroughTheBucket() {
        String db = items("s3_rt", 5000);
        String repo = "s3://" + BUCKET + "/prod";
        CliRun b = CliRun.run(env(db), dir, "backup", "--repo", repo, "--format", "json");
        assertEquals(0, b.exitCode(), b::toString);
        String id = b.json().get("manifest").get("id").asText();
        assertTrue(keysUnder("prod").contains("prod/" + id + "/manifest.json"), server.keys(BUCKET).toString());
        assertFalse(keysUnder("prod").stream().anyMatch(k -> k.startsWith("prod/.locks/")), "the lease is gone after the backup");

        JsonNode backups = list(env(db), repo);
        assertEquals(1, backups.size(), backups::toString);
        assertEquals(id, backups.get(0).get("id").asText());
        assertEquals("complete", backups.get(0).get("state").asText(), backups::toString);

        CliRun r = CliRun.run(env(db), dir, "restore", "--repo", repo, "--latest", "--target-db", "s3_rt_copy");
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(digest(db), digest("s3_rt_copy"), "the restored rows are the backed-up rows");

        CliRun v = CliRun.run(env(db), dir, "verify", "--repo", repo, "--backup", id);
        assertEquals(0, v.exitCode(), v::toString);
        assertEquals(0, CliRun.run(env(db), dir, "verify", "--repo", repo, "--latest-backup").exitCode());
        assertEquals(0, CliRun.run(env(db), dir, "verify", "--repo", repo, "--all-backups").exitCode());
        assertEquals("verified", list(env(db), repo).get(0).get("state").asText(), "the verdict is recorded beside the backup in the bucket");
        CliRun m = CliRun.run(env(db), dir, "monitor", "--repo", repo, "--check", "backup_freshness", "--format", "json");
        assertEquals(0, m.exitCode(), m::toString);
    }

    @Test
    void cleanupAndTheDrillWorkOnTheBucket() throws Exception {
        String db = items("s3_keep", 3000);
        String repo = "s3://" + BUCKET + "/keep";
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            CliRun b = CliRun.run(env(db), dir, "backup", "--repo", repo, "--format", "json");
            assertEquals(0, b.exitCode(), b::toString);
            ids.add(b.json().get("manifest").get("id").asText());
            Thread.sleep(1100); // ids carry the second
        }
        CliRun c = CliRun.run(env(db), dir, "cleanup", "--repo", repo, "--keep-last", "1");
        assertEquals(0, c.exitCode(), c::toString);
        assertEquals(List.of(), keysUnder("keep").stream().filter(k -> k.startsWith("keep/" + ids.get(0) + "/")).toList(), "the older backup's objects are gone");
        JsonNode left = list(env(db), repo);
        assertEquals(1, left.size(), left::toString);
        assertEquals(ids.get(1), left.get(0).get("id").asText());

        CliRun drill = CliRun.run(env(db), dir, "dr-test", "--repo", repo, "--latest", "--format", "json");
        assertEquals(0, drill.exitCode(), drill::toString);
        assertTrue(drill.out().contains(ids.get(1)), drill::toString);
        assertTrue(pg.query("postgres", "SELECT 1 FROM pg_database WHERE datname LIKE 's3_keep_%'").isEmpty(), "the scratch database is gone");
    }

    @Test
    void verifyAndRestoreCatchADamagedObject() throws Exception {
        String db = items("s3_damage", 2000);
        String repo = "s3://" + BUCKET + "/damage";
        CliRun b = CliRun.run(env(db), dir, "backup", "--repo", repo, "--format", "json");
        assertEquals(0, b.exitCode(), b::toString);
        String id = b.json().get("manifest").get("id").asText();
        String dumpKey = keysUnder("damage").stream().filter(k -> k.contains("/" + id + "/database.dump")).findFirst().orElseThrow();
        try (S3Client c = server.client()) {
            byte[] bytes = c.getObjectAsBytes(r -> r.bucket(BUCKET).key(dumpKey)).asByteArray();
            bytes[bytes.length / 2] ^= 0x55; // same size: only the SHA-256 can tell
            c.putObject(r -> r.bucket(BUCKET).key(dumpKey), RequestBody.fromBytes(bytes));
        }
        // the local copy that restore, the drill and verify make checks each file by its own manifest entry
        // (it looked them up by role, so the dump went unchecked): an object changed after the checks is caught
        Repository bucket = Repository.open(RepoLocation.parse(repo, new Environment(env(db), dir)));
        StoredBackup stored = bucket.backups().stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow();
        ChronoException copy = org.junit.jupiter.api.Assertions.assertThrows(ChronoException.class, () -> bucket.localCopy(stored));
        assertTrue(copy.getMessage().contains("database.dump.zst: SHA-256 ") && copy.getMessage().contains("does not match the manifest's"),
                copy::getMessage);
        CliRun r = CliRun.run(env(db), dir, "restore", "--repo", repo, "--latest", "--target-db", "s3_damage_copy");
        assertEquals(1, r.exitCode(), r::toString);
        assertTrue(r.err().contains("nothing was touched"), r::toString);
        assertTrue(pg.query("postgres", "SELECT 1 FROM pg_database WHERE datname = 's3_damage_copy'").isEmpty());

        CliRun v = CliRun.run(env(db), dir, "verify", "--repo", repo, "--backup", id);
        assertEquals(2, v.exitCode(), v::toString);
        assertTrue(v.out().contains("SHA-256"), v::toString);
    }

    /**
     * restore --latest checks the newest backup by copying it into the spool, and restores that
     * copy: the bucket is read once. Shown by taking the dump out of the bucket between the check
     * and the copy the restore asks for (the restore itself: logicalBackupRoundTripThroughTheBucket).
     */
    @Test
    void theBackupARestoreChoosesIsDownloadedOnce() throws Exception {
        String db = items("s3_once", 2000);
        String repo = "s3://" + BUCKET + "/once";
        CliRun b = CliRun.run(env(db), dir, "backup", "--repo", repo, "--format", "json");
        assertEquals(0, b.exitCode(), b::toString);
        String id = b.json().get("manifest").get("id").asText();

        Repository bucket = Repository.open(RepoLocation.parse(repo, new Environment(env(db), dir)));
        StoredBackup stored = bucket.backups().stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow();
        // A directory of the same name that this process did not fill (a container's PID repeats) is not trusted,
        // however complete its sizes look: the check downloads afresh.
        Path leftover = Repository.spoolDirectory().resolve(ProcessHandle.current().pid() + "-" + id);
        Files.createDirectories(leftover);
        for (var f : stored.manifest().files()) {
            Files.write(leftover.resolve(f.name()), new byte[(int) f.bytes()]);
        }
        BackupCatalog.Proof proof = BackupCatalog.of(bucket).proveNewestForRestore(List.of(stored));
        String dumpName = stored.manifest().file("dump").name();
        assertEquals(stored.manifest().file("dump").sha256(), BackupVerifier.sha256(leftover.resolve(dumpName)), "downloaded afresh");
        assertEquals(id, proof.backup().orElseThrow().id(), proof::toString);
        String dumpKey = keysUnder("once").stream().filter(k -> k.contains("/" + id + "/database.dump")).findFirst().orElseThrow();
        try (S3Client c = server.client()) {
            c.deleteObject(x -> x.bucket(BUCKET).key(dumpKey));
        }
        Path copy = bucket.localCopy(stored);
        assertTrue(Files.size(copy.resolve(dumpKey.substring(dumpKey.lastIndexOf('/') + 1))) > 0,
                "the copy the check made, not a second download");
    }

    @Test
    void wrongCredentialsFailInOneLineWithoutTheSecret() {
        String db = items("s3_creds", 10);
        Map<String, String> env = env(db);
        env.put("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-42");
        CliRun b = CliRun.run(env, dir, "backup", "--repo", "s3://" + BUCKET + "/creds");
        assertEquals(1, b.exitCode(), b::toString);
        assertTrue(b.err().contains("access denied"), b::toString);
        assertFalse(b.err().contains("wrong-secret-value-42") || b.out().contains("wrong-secret-value-42"), "never the secret");
        assertFalse(b.err().contains("\tat "), "no stack trace: " + b.err());
        assertTrue(b.err().strip().lines().filter(l -> l.contains("ERROR") || l.contains("error")).count() <= 1, b::toString);
        assertEquals(List.of(), keysUnder("creds"));
        CliRun m = CliRun.run(env, dir, "monitor", "--repo", "s3://" + BUCKET + "/creds", "--check", "backup_freshness");
        assertEquals(3, m.exitCode(), m::toString);
        assertTrue(m.out().contains("access denied") && !m.out().contains("Exception"), m::toString);

        CliRun missing = CliRun.run(env(db), dir, "backup", "--repo", "s3://no-such-bucket/x");
        assertEquals(1, missing.exitCode(), missing::toString);
        assertTrue(missing.err().contains("no such bucket"), missing::toString);
    }

    @Test
    void serverKilledMidUploadLeavesNothingCommittedAndTheNextBackupCleansUp() throws Exception {
        String db = "s3_killed";
        pg.execute("postgres", "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
        pg.createDatabase(db);
        // ~48 MB that zstd cannot shrink: the dump goes up in several multipart parts
        pg.execute(db, "CREATE TABLE blobs (id int PRIMARY KEY, b bytea NOT NULL)");
        pg.execute(db, "INSERT INTO blobs SELECT g, decode((SELECT string_agg(md5(random()::text || g || i), '') FROM generate_series(1, 64) i), 'hex') "
                + "FROM generate_series(1, 48000) g");
        Path config = dir.resolve("c.yaml");
        Files.writeString(config, "targets:\n  main:\n    repo: s3://" + BUCKET + "/killed\n    s3:\n      lease_seconds: 2\n");
        Map<String, String> env = env(db);

        Path data = server.dataDirectory();
        long before = size(data);
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(env, dir, "backup", "--config", config.toString()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (size(data) - before < (20L << 20) && !run.isDone() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertFalse(run.isDone(), "the backup was still uploading when the server died: " + (run.isDone() ? run.get() : ""));
        server.kill();
        CliRun failed = run.get(120, TimeUnit.SECONDS);
        server.restart();
        assertEquals(1, failed.exitCode(), failed::toString);
        assertFalse(failed.err().contains("\tat "), "one line, no stack trace: " + failed.err());

        assertEquals(0, list(env, "s3://" + BUCKET + "/killed").size(), "nothing looks committed");

        Thread.sleep(2500); // the dead run's lease expires (s3.lease_seconds: 2)
        CliRun next = CliRun.run(env, dir, "backup", "--config", config.toString(), "--format", "json");
        assertEquals(0, next.exitCode(), next::toString);
        String id = next.json().get("manifest").get("id").asText();
        List<String> left = keysUnder("killed").stream().filter(k -> !k.startsWith("killed/" + id + "/")).toList();
        assertEquals(List.of(), left, "the killed run's objects were removed by the next backup");
        assertEquals(1, list(env, "s3://" + BUCKET + "/killed").size());
    }

    @Test
    void aBackupAbortsOnlyItsOwnDatabasesAbandonedUploads() throws Exception {
        String db = items("s3_uploads", 100);
        Path config = dir.resolve("uploads.yaml");
        Files.writeString(config, "targets:\n  main:\n    repo: s3://" + BUCKET + "/uploads\n    s3:\n      lease_seconds: 2\n");
        try (S3Client c = server.client()) {
            // another database's backup, uploading for longer than this one's lease: it is running, not abandoned
            String others = "uploads/s3_uploads_other_full_20200101_000000/database.dump.zst";
            // this database's own, left by a run that died
            String mine = "uploads/s3_uploads_full_20200101_000000/database.dump.zst";
            c.createMultipartUpload(r -> r.bucket(BUCKET).key(others));
            c.createMultipartUpload(r -> r.bucket(BUCKET).key(mine));
            Thread.sleep(2500); // both older than the lease (s3.lease_seconds: 2), for a server that tells an upload's age
            CliRun backup = CliRun.run(env(db), dir, "backup", "--config", config.toString());
            assertEquals(0, backup.exitCode(), backup::toString);
            List<String> open = c.listMultipartUploads(r -> r.bucket(BUCKET).prefix("uploads/")).uploads().stream()
                    .map(u -> u.key()).toList();
            assertEquals(List.of(others), open, "the other database's upload goes on; this one's abandoned upload is aborted");
        }
    }

    /** Bytes under dir; the server moves its part files while we count, so a vanished entry counts as nothing. */
    private static long size(Path dir) throws Exception {
        long[] total = {0};
        Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes attrs) {
                if (attrs.isRegularFile()) {
                    total[0] += attrs.size();
                }
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path file, java.io.IOException e) {
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
        return total[0];
    }

    @Test
    void twoConcurrentBackupsOfOneDatabaseCommitOnce() throws Exception {
        String db = items("s3_twice", 20000);
        String repo = "s3://" + BUCKET + "/twice";
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<CliRun>> runs = new ArrayList<>();
        // two threads of their own: the common pool has one on a 2-core machine, which ran the backups one after the other
        java.util.concurrent.ExecutorService two = java.util.concurrent.Executors.newFixedThreadPool(2);
        for (int i = 0; i < 2; i++) {
            runs.add(CompletableFuture.supplyAsync(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return CliRun.run(env(db), dir, "backup", "--repo", repo);
            }, two));
        }
        go.countDown();
        List<CliRun> done = new ArrayList<>();
        try {
            for (CompletableFuture<CliRun> f : runs) {
                done.add(f.get(180, TimeUnit.SECONDS));
            }
        } finally {
            two.shutdownNow();
        }
        assertEquals(1, done.stream().filter(r -> r.exitCode() == 0).count(), done::toString);
        CliRun loser = done.stream().filter(r -> r.exitCode() != 0).findFirst().orElseThrow();
        assertEquals(1, loser.exitCode(), loser::toString);
        // the loser learns it at once, or (a server that checks, then writes: both creates succeed) at the read-back,
        // while its pg_dump runs: either way the lease is the story, with its hint
        assertTrue(loser.err().startsWith("chrono-dr: another backup of database s3_twice is running"), loser::toString);
        assertTrue(loser.err().contains("hint: wait for it to finish"), loser::toString);
        assertEquals(1, list(env(db), repo).size());
        // the loser wrote nothing over the winner's objects (S3Proxy 2.9 lets two racing conditional writes both succeed)
        CliRun v = CliRun.run(env(db), dir, "verify", "--repo", repo, "--latest-backup");
        assertEquals(0, v.exitCode(), v::toString);
    }

    @Test
    void walPushAndFetchThroughTheBucket() throws Exception {
        String seg = "000000010000000000000003";
        byte[] content = new byte[16 << 20];
        new Random(3).nextBytes(content);
        Path pgWal = Files.createDirectories(dir.resolve("data/pg_wal"));
        Files.write(pgWal.resolve(seg), content);
        String repo = "s3://" + BUCKET + "/wal-test";
        Map<String, String> env = server.env();

        CliRun push = CliRun.run(env, dir.resolve("data"), "wal-push", "--repo", repo, "pg_wal/" + seg);
        assertEquals(0, push.exitCode(), push::toString);
        assertTrue(keysUnder("wal-test").contains("wal-test/wal/00000001/" + seg + ".zst"), server.keys(BUCKET).toString());
        assertEquals(0, CliRun.run(env, dir.resolve("data"), "wal-push", "--repo", repo, "pg_wal/" + seg).exitCode(), "a second push of the same file is fine");
        byte[] other = content.clone();
        other[0] ^= 1;
        Files.write(pgWal.resolve(seg), other);
        CliRun clash = CliRun.run(env, dir.resolve("data"), "wal-push", "--repo", repo, "pg_wal/" + seg);
        assertEquals(1, clash.exitCode(), clash::toString);
        assertTrue(clash.err().contains("different content"), clash::toString);

        Path restore = Files.createDirectories(dir.resolve("restore/pg_wal"));
        CliRun fetch = CliRun.run(env, dir.resolve("restore"), "wal-fetch", "--repo", repo, seg, "pg_wal/RECOVERYXLOG");
        assertEquals(0, fetch.exitCode(), fetch::toString);
        assertArrayEquals(content, Files.readAllBytes(restore.resolve("RECOVERYXLOG")), "the first push's bytes, never overwritten");
        CliRun missing = CliRun.run(env, dir.resolve("restore"), "wal-fetch", "--repo", repo, "000000010000000000000009", "pg_wal/X");
        assertEquals(1, missing.exitCode(), missing::toString);
        assertFalse(Files.exists(restore.resolve("X")));
    }
}
