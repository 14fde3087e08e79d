package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.Json;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;
import dev.chronodr.testing.S3Server;

/**
 * {@code repo copy} between a local directory and a bucket (S3Proxy), through the real command
 * line: what is copied restores at the destination; a damaged source, a taken id and an
 * interrupted copy leave nothing the destination lists.
 */
@PostgresTest
class RepositoryCopyTest {
    private static final String BUCKET = "copies";
    @RegisterExtension
    static final S3Server server = S3Server.perClass(BUCKET);
    private final PgCluster pg;
    @TempDir
    Path dir;

    RepositoryCopyTest(PgCluster pg) {
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

    private String backup(String db, String repo) {
        CliRun b = CliRun.run(env(db), dir, "backup", "--repo", repo, "--format", "json");
        assertEquals(0, b.exitCode(), b::toString);
        return b.json().get("manifest").get("id").asText();
    }

    private JsonNode list(String db, String repo) {
        CliRun r = CliRun.run(env(db), dir, "list", "--repo", repo, "--format", "json");
        assertEquals(0, r.exitCode(), r::toString);
        return r.json().get("backups");
    }

    private CliRun copy(String db, String... args) {
        String[] all = new String[args.length + 4];
        all[0] = "repo";
        all[1] = "copy";
        System.arraycopy(args, 0, all, 2, args.length);
        all[all.length - 2] = "--format";
        all[all.length - 1] = "json";
        return CliRun.run(env(db), dir, all);
    }

    private List<String> keysUnder(String prefix) {
        return server.keys(BUCKET).stream().filter(k -> k.startsWith(prefix + "/")).toList();
    }

    @Test
    void localToBucketAndBackEachRestoresAndMissingCopiesOnlyWhatIsMissing() throws Exception {
        String db = items("copy_rt", 3000);
        String local = dir.resolve("local").toString();
        String bucket = "s3://" + BUCKET + "/rt";
        String first = backup(db, local);

        CliRun c = copy(db, "--from", local, "--to", bucket, "--backup-id", first);
        assertEquals(0, c.exitCode(), c::toString);
        assertEquals("copied", c.json().get("backups").get(0).get("action").asText(), c::toString);
        JsonNode there = list(db, bucket);
        assertEquals(1, there.size());
        assertEquals(first, there.get(0).get("id").asText());
        assertEquals("complete", there.get(0).get("state").asText());
        assertArrayEquals(Files.readAllBytes(Path.of(local, first, "manifest.json")),
                server.client().getObjectAsBytes(r -> r.bucket(BUCKET).key("rt/" + first + "/manifest.json")).asByteArray(),
                "the manifest is copied as the source has it");

        CliRun again = copy(db, "--from", local, "--to", bucket, "--backup-id", first);
        assertEquals(0, again.exitCode(), again::toString);
        assertEquals("skipped", again.json().get("backups").get(0).get("action").asText(), "the same backup is not copied twice");

        Object before = digest(db);
        pg.execute(db, "INSERT INTO items VALUES (0, 'after the first backup')");
        String second = backup(db, local);
        // a WAL file in the local archive, which only --missing takes along
        String seg = "000000010000000000000007";
        byte[] wal = new byte[16 << 20];
        new Random(7).nextBytes(wal);
        Files.createDirectories(dir.resolve("data/pg_wal"));
        Files.write(dir.resolve("data/pg_wal/" + seg), wal);
        assertEquals(0, CliRun.run(env(db), dir.resolve("data"), "wal-push", "--repo", local, "pg_wal/" + seg).exitCode());

        // a restore point recorded in the local repository, with a name that needs care
        String point = "vor der Migration 'v2' \u00fc";
        CliRun rp = CliRun.run(env(db), dir, "restore-point", point, "--repo", local);
        assertEquals(0, rp.exitCode(), rp::toString);
        String pointFile = java.util.HexFormat.of().formatHex(point.getBytes(java.nio.charset.StandardCharsets.UTF_8)) + ".json";
        byte[] pointRecord = Files.readAllBytes(Path.of(local, "restore_points", pointFile));

        CliRun missing = copy(db, "--from", local, "--to", bucket, "--missing");
        assertEquals(0, missing.exitCode(), missing::toString);
        assertEquals(1, missing.json().get("restore_points").asInt(), missing::toString);
        assertArrayEquals(pointRecord, server.client().getObjectAsBytes(r -> r.bucket(BUCKET).key("rt/.restore_points/" + pointFile)).asByteArray(),
                "the restore point's record went along, where a bucket keeps it");
        assertEquals(1, missing.json().get("copied").asInt(), missing::toString);
        assertEquals(1, missing.json().get("skipped").asInt(), missing::toString);
        assertEquals(1, missing.json().get("wal").get("copied").asInt(), missing::toString);
        assertEquals(2, list(db, bucket).size());

        CliRun r = CliRun.run(env(db), dir, "restore", "--repo", bucket, "--backup-id", first, "--target-db", "copy_rt_from_bucket");
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(before, digest("copy_rt_from_bucket"), "the copy in the bucket restores the first backup's rows");

        // and back: bucket -> another local directory, then restore from there
        String back = dir.resolve("back").toString();
        CliRun down = copy(db, "--from", bucket, "--to", back, "--missing");
        assertEquals(0, down.exitCode(), down::toString);
        assertArrayEquals(pointRecord, Files.readAllBytes(Path.of(back, "restore_points", pointFile)),
                "and back, where a directory keeps it");
        assertEquals(2, down.json().get("copied").asInt(), down::toString);
        assertEquals(2, list(db, back).size());
        CliRun r2 = CliRun.run(env(db), dir, "restore", "--repo", back, "--backup-id", second, "--target-db", "copy_rt_back");
        assertEquals(0, r2.exitCode(), r2::toString);
        assertEquals(digest(db), digest("copy_rt_back"), "the copy of the copy restores the second backup's rows");
        Files.createDirectories(dir.resolve("restore/pg_wal"));
        CliRun fetch = CliRun.run(env(db), dir.resolve("restore"), "wal-fetch", "--repo", back, seg, "pg_wal/RECOVERYXLOG");
        assertEquals(0, fetch.exitCode(), fetch::toString);
        assertArrayEquals(wal, Files.readAllBytes(dir.resolve("restore/pg_wal/RECOVERYXLOG")), "WAL went along, byte for byte");

        CliRun none = copy(db, "--from", bucket, "--to", back, "--missing");
        assertEquals(0, none.exitCode(), none::toString);
        assertEquals(0, none.json().get("restore_points").asInt(), "a record already there is not copied again: " + none);
        assertEquals(0, none.json().get("copied").asInt(), "nothing missing, nothing copied: " + none);
        assertEquals(64, CliRun.run(env(db), dir, "repo", "copy", "--from", bucket, "--to", back).exitCode(), "which backups must be said");
    }

    @Test
    void aDamagedSourceObjectFailsWithExit2AndNothingIsListedAtTheDestination() throws Exception {
        String db = items("copy_damage", 2000);
        String bucket = "s3://" + BUCKET + "/damage";
        String id = backup(db, bucket);
        try (S3Client c = server.client()) {
            String dumpKey = "damage/" + id + "/" + Json.mapper().readValue(c.getObjectAsBytes(r -> r.bucket(BUCKET).key("damage/" + id + "/manifest.json"))
                    .asByteArray(), BackupManifest.class).file("dump").name();
            byte[] bytes = c.getObjectAsBytes(r -> r.bucket(BUCKET).key(dumpKey)).asByteArray();
            bytes[bytes.length / 2] ^= 0x55; // same size: only the SHA-256 can tell
            c.putObject(r -> r.bucket(BUCKET).key(dumpKey), RequestBody.fromBytes(bytes));
        }
        String local = dir.resolve("dest").toString();
        CliRun c = copy(db, "--from", bucket, "--to", local, "--backup-id", id);
        assertEquals(2, c.exitCode(), c::toString);
        assertTrue(c.json().get("backups").get(0).get("reason").asText().contains("SHA-256"), c::toString);
        assertEquals(0, list(db, local).size(), "nothing committed at the destination");
        assertFalse(Files.exists(Path.of(local, id)));
        try (var left = Files.walk(Path.of(local))) {
            assertEquals(List.of(), left.filter(Files::isRegularFile).filter(p -> !p.toString().contains("/.locks/")).toList());
        }
    }

    @Test
    void aDifferentBackupWithTheSameIdAtTheDestinationIsNeverOverwritten() throws Exception {
        String db = items("copy_clash", 500);
        String a = dir.resolve("a").toString();
        String b = dir.resolve("b").toString();
        String id = backup(db, a);
        pg.execute(db, "INSERT INTO items VALUES (0, 'only at b')");
        String other = backup(db, b);
        // b's own backup, under a's id: what two hosts naming backups alike could leave
        Files.move(Path.of(b, other), Path.of(b, id));
        ObjectNode m = (ObjectNode) Json.mapper().readTree(Path.of(b, id, "manifest.json").toFile());
        m.put("id", id);
        Files.write(Path.of(b, id, "manifest.json"), Json.mapper().writeValueAsBytes(m));
        byte[] manifestBefore = Files.readAllBytes(Path.of(b, id, "manifest.json"));
        String dump = Json.mapper().readValue(Path.of(b, id, "manifest.json").toFile(), BackupManifest.class).file("dump").name();
        byte[] dumpBefore = Files.readAllBytes(Path.of(b, id, dump));

        CliRun c = copy(db, "--from", a, "--to", b, "--backup-id", id);
        assertEquals(1, c.exitCode(), c::toString);
        assertTrue(c.json().get("backups").get(0).get("reason").asText().contains("not overwritten"), c::toString);
        assertArrayEquals(manifestBefore, Files.readAllBytes(Path.of(b, id, "manifest.json")));
        assertArrayEquals(dumpBefore, Files.readAllBytes(Path.of(b, id, dump)), "b's backup is untouched");
    }

    @Test
    void aCopyCutShortLeavesNothingListedAndTheNextCopySucceeds() throws Exception {
        String db = items("copy_cut", 20000);
        String local = dir.resolve("src").toString();
        String id = backup(db, local);
        RepoLocation where = RepoLocation.parse("s3://" + BUCKET + "/cut", new dev.chronodr.core.Environment(server.env(), dir));
        // The destination dies once the data files are up (while SHA256SUMS goes) and cleans nothing
        // up, as a killed process would not.
        long files = Json.mapper().readValue(Path.of(local, id, "manifest.json").toFile(), BackupManifest.class).totalBytes();
        Repository dying = new Repository(new DyingStorage(new S3Storage(where), files + 10), where);
        RepositoryCopy.Outcome o = RepositoryCopy.run(Repository.open(RepoLocation.local(Path.of(local))), dying,
                new RepositoryCopy.Selection(id, false));
        assertEquals(RepositoryCopy.Action.FAILED, o.backups().get(0).action(), o.toString());
        assertEquals(1, o.exit().code());
        assertFalse(keysUnder("cut").stream().filter(k -> k.startsWith("cut/" + id + "/")).toList().isEmpty(), "it did leave objects behind");
        assertEquals(0, list(db, "s3://" + BUCKET + "/cut").size(), "nothing listed at the destination");

        CliRun next = copy(db, "--from", local, "--to", "s3://" + BUCKET + "/cut", "--backup-id", id);
        assertEquals(0, next.exitCode(), next::toString);
        assertEquals("copied", next.json().get("backups").get(0).get("action").asText(), next::toString);
        JsonNode there = list(db, "s3://" + BUCKET + "/cut");
        assertEquals(1, there.size());
        assertEquals("complete", there.get(0).get("state").asText());
        CliRun v = CliRun.run(env(db), dir, "verify", "--repo", "s3://" + BUCKET + "/cut", "--backup", id);
        assertEquals(0, v.exitCode(), v::toString);
    }

    @Test
    void backupCopyToCopiesTheNewBackupAndAFailedCopyLeavesItStanding() {
        String db = items("copy_after", 500);
        String local = dir.resolve("after").toString();
        String bucket = "s3://" + BUCKET + "/after";
        CliRun b = CliRun.run(env(db), dir, "backup", "--repo", local, "--copy-to", bucket, "--format", "json");
        assertEquals(0, b.exitCode(), b::toString);
        String id = b.json().get("manifest").get("id").asText(); // the backup's own JSON, as without --copy-to
        assertEquals(1, b.json().get("copy").get("copied").asInt(), b::toString);
        assertEquals(id, list(db, bucket).get(0).get("id").asText());

        CliRun bad = CliRun.run(env(db), dir, "backup", "--repo", local, "--copy-to", "s3://no-such-bucket/x");
        assertEquals(1, bad.exitCode(), bad::toString);
        assertTrue(bad.out().contains("is good in " + local + "; the copy to s3://no-such-bucket/x failed"), bad::toString);
        assertEquals(2, list(db, local).size(), "the backup stands where it was taken");
        assertEquals(1, list(db, bucket).size());
    }

    @Test
    void eachNamedRepositoryKeepsWhatItsOwnRetentionSaysAndListNamesTheHolders() throws Exception {
        String db = items("copy_ret", 300);
        Path local = dir.resolve("ret-local");
        String offsite = "s3://" + BUCKET + "/ret";
        Path config = dir.resolve("ret.yaml");
        // days: 0 would delete everything but for the guarantee: the newest good backup stays
        Files.writeString(config, "targets:\n  main:\n    repos:\n"
                + "      local: {repo: " + local + ", retention: {days: 0}}\n"
                + "      offsite: {repo: " + offsite + ", retention: {days: 90}}\n");
        String cfg = config.toString();
        List<String> ids = new java.util.ArrayList<>();
        List<Object> digests = new java.util.ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            pg.execute(db, "INSERT INTO items VALUES (-" + i + ", 'before backup " + i + "')");
            digests.add(digest(db));
            CliRun b = CliRun.run(env(db), dir, "backup", "--config", cfg, "--copy-to", "offsite", "--format", "json");
            assertEquals(0, b.exitCode(), b::toString);
            ids.add(b.json().get("manifest").get("id").asText());
        }
        assertEquals(3, list(db, local.toString()).size(), "without repo:, backups go to the first of repos:");

        CliRun c = CliRun.run(env(db), dir, "cleanup", "--config", cfg, "--format", "json");
        assertEquals(0, c.exitCode(), c::toString);
        assertEquals(2, c.json().get("repositories").size(), c::toString);
        JsonNode inLocal = list(db, local.toString());
        assertEquals(1, inLocal.size(), "local keeps 0 days: only its newest good backup");
        assertEquals(ids.get(2), inLocal.get(0).get("id").asText());
        assertEquals(3, list(db, offsite).size(), "offsite keeps 90 days: all three");

        CliRun l = CliRun.run(env(db), dir, "list", "--config", cfg, "--format", "json");
        assertEquals(0, l.exitCode(), l::toString);
        JsonNode all = l.json().get("backups");
        assertEquals(3, all.size(), l::toString);
        Map<String, String> holders = new HashMap<>();
        all.forEach(e -> holders.put(e.get("id").asText(), e.get("repositories").toString()));
        assertEquals("[\"local\",\"offsite\"]", holders.get(ids.get(2)), l::toString);
        assertEquals("[\"offsite\"]", holders.get(ids.get(0)), l::toString);
        CliRun text = CliRun.run(env(db), dir, "list", "--config", cfg);
        assertTrue(text.out().contains("REPOSITORIES") && text.out().contains("local,offsite"), text::toString);

        CliRun r = CliRun.run(env(db), dir, "restore", "--config", cfg, "--repo", "offsite", "--backup-id", ids.get(0), "--target-db", "copy_ret_old");
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(digests.get(0), digest("copy_ret_old"), "restore reads from the repository it is given by name");

        CliRun one = CliRun.run(env(db), dir, "cleanup", "--config", cfg, "--repo", "offsite", "--keep-last", "1", "--retention-days", "0");
        assertEquals(0, one.exitCode(), one::toString);
        assertEquals(1, list(db, offsite).size(), "cleanup --repo NAME cleans that repository only");
        assertEquals(ids.get(2), list(db, offsite).get(0).get("id").asText());
    }

    /** A destination that fails every write once {@code limit} bytes went through, and deletes nothing of a backup afterwards. */
    private static final class DyingStorage implements Storage {
        private final Storage d;
        private final long limit;
        private final AtomicLong written = new AtomicLong();

        DyingStorage(Storage d, long limit) {
            this.d = d;
            this.limit = limit;
        }

        private AtomicFile.Content dying(String key, AtomicFile.Content c) {
            if (key.startsWith(".")) {
                return c; // the lease
            }
            return out -> c.writeTo(new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    if (written.addAndGet(len) > limit) {
                        throw new IOException("connection reset (the test's dying destination)");
                    }
                    out.write(b, off, len);
                }
            });
        }

        @Override public String location() { return d.location(); }
        @Override public void prepare() { d.prepare(); }
        @Override public boolean exists(String key) throws IOException { return d.exists(key); }
        @Override public Optional<StoredObject> info(String key) throws IOException { return d.info(key); }
        @Override public List<StoredObject> list(String prefix) throws IOException { return d.list(prefix); }
        @Override public List<String> children(String prefix) throws IOException { return d.children(prefix); }
        @Override public InputStream read(String key) throws IOException { return d.read(key); }
        @Override public InputStream read(String key, long offset, long length) throws IOException { return d.read(key, offset, length); }
        @Override public Written write(String key, AtomicFile.Content content) throws IOException { return d.write(key, dying(key, content)); }
        @Override public Written create(String key, AtomicFile.Content content) throws IOException { return d.create(key, dying(key, content)); }
        @Override public void delete(String key) throws IOException { if (key.startsWith(".")) { d.delete(key); } }
        @Override public void deleteTree(String prefix) throws IOException { }
        @Override public String stage(String privateArea, String committed) throws IOException { return d.stage(privateArea, committed); }
        @Override public void commit(String staging, String committed, String markerName, AtomicFile.Content marker) throws IOException {
            d.commit(staging, committed, markerName, dying(committed, marker));
        }
        @Override public Path localStaging(String prefix) throws IOException { return d.localStaging(prefix); }
    }
}
