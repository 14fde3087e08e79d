package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
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

import com.fasterxml.jackson.databind.JsonNode;

import software.amazon.awssdk.core.sync.RequestBody;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.S3Server;
import dev.chronodr.testing.ServerLauncher;
import dev.chronodr.wal.ArchiveCommand;

/**
 * Physical backups and point-in-time restore with the repository in a bucket (S3Proxy on
 * a loopback port): the server's archive_command is the real wal-push into the bucket, its
 * endpoint and credentials in the server's environment only, as in production.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@org.junit.jupiter.api.parallel.ResourceLock("spool") // asserts this process's spool is empty: not beside another class that fills it
class S3PitrTest {
    private static final String BUCKET = "pitr";
    private static final String DB = "shop";
    private final Secret password = Secret.of("s3pitr-" + System.nanoTime());
    private final List<LocalCluster> restored = new ArrayList<>();
    private S3Server s3;
    private ProcessRunner runner;
    private Path tmp;
    private Path launcher;
    private Path bin;
    private LocalCluster pg;
    private String repo;
    private String baseId;

    @BeforeAll
    void start() throws Exception {
        Optional<Path> found = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(found.isPresent(), "needs local PostgreSQL server binaries");
        bin = found.get();
        tmp = Files.createTempDirectory("chrono-dr-s3pitr-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        s3 = S3Server.start(tmp.resolve("s3"), BUCKET);
        repo = "s3://" + BUCKET + "/prod";
        launcher = ServerLauncher.write(tmp);
        // the server's own environment carries the endpoint and the credentials: never its configuration
        Map<String, String> serverEnv = new HashMap<>(System.getenv());
        serverEnv.putAll(s3.env());
        runner = new ProcessRunner(serverEnv);
        String archive = ArchiveCommand.push(List.of(launcher.toString()), repo);
        pg = LocalCluster.create(tmp.resolve("pg"), bin, password, LocalCluster.Options.defaults()
                .withSetting("archive_mode", "on")
                .withSetting("archive_command", "'" + archive.replace("'", "''") + "'")
                .withSetting("wal_level", "replica")
                .withSetting("autovacuum", "off"), runner);
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE orders (id serial PRIMARY KEY, batch int NOT NULL)");
        pg.execute(DB, "INSERT INTO orders (batch) SELECT 0 FROM generate_series(1, 3)");
    }

    @AfterAll
    void stop() throws Exception {
        for (LocalCluster c : restored) {
            c.remove();
        }
        if (pg != null) {
            pg.remove();
        }
        if (s3 != null) {
            s3.close();
        }
        if (tmp != null) {
            Repository.deleteQuietly(tmp);
        }
    }

    @Test
    @Order(1)
    void aBaseBackupGoesIntoTheBucketAndIsListedAndVerified() throws Exception {
        CliRun r = cli("backup", "--type", "physical", "--repo", repo, "--format", "json");
        assertEquals(0, r.exitCode(), r::toString);
        baseId = r.json().path("id").asText();
        List<String> keys = keysUnder("prod/" + baseId);
        for (String f : List.of("base.tar.zst", "backup_manifest", "physical.json", "SHA256SUMS", "manifest.json")) {
            assertTrue(keys.contains("prod/" + baseId + "/" + f), keys::toString);
        }
        String stopSegment = r.json().path("pitr").path("stop_wal_file").asText();
        assertTrue(s3.keys(BUCKET).contains("prod/wal/00000001/" + stopSegment + ".zst"),
                "its last segment was archived into the bucket by the server's archive_command before the commit");
        assertTrue(spoolLeftovers().isEmpty(), "the local spool is gone after the upload");
        assertFalse(s3.keys(BUCKET).stream().anyMatch(k -> k.startsWith("prod/.locks/")), "the lease is gone");

        JsonNode list = cli("list", "--repo", repo, "--format", "json").json().path("backups");
        assertEquals(1, list.size(), list::toString);
        assertEquals(baseId, list.get(0).path("id").asText());
        assertEquals("complete", list.get(0).path("state").asText(), list::toString);

        // retention sees the base backup and keeps the WAL it needs
        CliRun clean = cli("cleanup", "--repo", repo, "--retention-days", "90");
        assertEquals(0, clean.exitCode(), clean::toString);
        assertEquals(1, cli("list", "--repo", repo, "--format", "json").json().path("backups").size());

        // pg_verifybackup over the copy, and the WAL chain read from the bucket (after the cleanup: nothing it needs was removed)
        CliRun v = cli("verify", "--repo", repo, "--backup", baseId);
        assertEquals(0, v.exitCode(), v::toString);
        assertTrue(spoolLeftovers().isEmpty(), "verify's copy is gone too");
    }

    @Test
    @Order(2)
    void aBaseBackupWhosePgBasebackupDiesMidwayLeavesNothingListed() throws Exception {
        // pg_basebackup dies with part of its tar written: the spool is removed, nothing reaches the bucket
        Path fake = Files.createDirectories(tmp.resolve("fakebin"));
        Path tool = fake.resolve("pg_basebackup");
        Files.writeString(tool, """
                #!/bin/sh
                case "$1" in --version|-V) exec %s/pg_basebackup "$@";; esac
                dir=""; prev=""
                for a in "$@"; do [ "$prev" = "-D" ] && dir="$a"; prev="$a"; done
                head -c 200000 /dev/urandom > "$dir/base.tar.zst"
                echo "pg_basebackup: error: could not read COPY data: server closed the connection unexpectedly" >&2
                exit 1
                """.formatted(bin));
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> before = s3.keys(BUCKET).stream().filter(k -> !k.startsWith("prod/wal/")).toList();
        Map<String, String> env = env();
        env.put("CHRONO_DR_PG_BIN", fake.toString());
        CliRun r = CliRun.run(env, tmp, "backup", "--type", "physical", "--repo", repo);
        assertEquals(1, r.exitCode(), r::toString);
        assertTrue(r.err().contains("server closed the connection unexpectedly"), r::toString);
        assertEquals(before, s3.keys(BUCKET).stream().filter(k -> !k.startsWith("prod/wal/")).toList(),
                "no object of the failed backup in the bucket");
        assertTrue(spoolLeftovers().isEmpty(), "its spool is removed");
        JsonNode list = cli("list", "--repo", repo, "--format", "json").json().path("backups");
        assertEquals(1, list.size(), list::toString);
    }

    @Test
    @Order(3)
    void aPointInTimeRestoreFromTheBucketHasTheRowsUpToTheTargetAndNoneAfter() throws Exception {
        insertBatch(1);
        OffsetDateTime afterBatch1 = serverNow();
        Thread.sleep(1100);
        insertBatch(2);
        CliRun point = cli("restore-point", "after-batch-2", "--repo", repo, "--format", "json");
        assertEquals(0, point.exitCode(), point::toString);
        String pointKey = "prod/.restore_points/" + java.util.HexFormat.of().formatHex("after-batch-2".getBytes()) + ".json";
        assertTrue(s3.keys(BUCKET).contains(pointKey), "the restore point is recorded in the bucket: " + s3.keys(BUCKET));
        // PostgreSQL 15 has no incremental base backups: this switches WAL and waits until the segment is in the bucket
        CliRun inc = cli("backup", "--type", "incremental", "--repo", repo, "--format", "json");
        assertEquals(0, inc.exitCode(), inc::toString);
        assertEquals("wal-switch", inc.json().path("method").asText(), inc::toString);
        assertTrue(s3.keys(BUCKET).contains("prod/wal/00000001/" + inc.json().path("wal_file").asText() + ".zst"), s3.keys(BUCKET)::toString);
        // The endpoint comes from the config's s3 section only: the restore must hand it to the recovering
        // server's environment (wal-fetch reads no config); the credentials from this command's environment.
        Path config = tmp.resolve("chrono-dr.yaml");
        Files.writeString(config, """
                targets:
                  prod:
                    repo: %s
                    s3:
                      endpoint: %s
                """.formatted(repo, s3.endpoint()));
        Map<String, String> env = env();
        env.remove("AWS_ENDPOINT_URL");
        Path base = Files.createDirectories(tmp.resolve("r1"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        Path data = base.resolve("data");
        int port = LocalCluster.freePort();
        CliRun r = CliRun.run(env, tmp, "pitr", "restore", "--config", config.toString(), "--target", "prod",
                "--point-in-time", afterBatch1.toString(), "--data-dir", data.toString(), "--port", String.valueOf(port),
                "--command", launcher.toString(), "--timeout", "180", "--format", "json");
        LocalCluster copy = LocalCluster.open(base, bin, port, password, runner);
        restored.add(copy);
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(baseId, r.json().path("base_backup").asText());
        List<Integer> batches = new ArrayList<>();
        try (Connection c = Database.connect(copy.connection(DB)); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT batch FROM orders ORDER BY id")) {
            while (rs.next()) {
                batches.add(rs.getInt(1));
            }
        }
        assertEquals(List.of(0, 0, 0, 1, 1, 1), batches, "the rows committed up to the target, none after");
        String auto = Files.readString(data.resolve("postgresql.auto.conf"));
        assertTrue(auto.contains("wal-fetch --repo " + repo), auto);
        assertFalse(auto.contains(S3Server.SECRET) || auto.contains(s3.endpoint()), "no setting of the bucket in the server's files");
        assertTrue(spoolLeftovers().isEmpty(), "the copy of the base backup is gone from the spool");
    }

    @Test
    @Order(4)
    void setupPrintsTheArchiveCommandIntoTheBucketAndWhatTheServersEnvironmentNeeds() {
        CliRun r = cli("pitr", "setup", "--repo", repo, "--command", launcher.toString(), "--format", "json");
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(launcher + " wal-push --repo " + repo + " %p", r.json().path("archive_command").asText());
        String notes = r.json().path("notes").toString();
        assertTrue(notes.contains("AWS_ENDPOINT_URL=" + s3.endpoint()) && notes.contains("AWS_SECRET_ACCESS_KEY"), notes);
        assertFalse(r.out().contains(S3Server.SECRET) || r.err().contains(S3Server.SECRET), "never a secret's value");
    }

    @Test
    @Order(5)
    void aPitrDrillRunsFromTheBucket() {
        // a restore point recorded in the bucket, the WAL holding it archived there, a scratch copy restored to it by name
        CliRun r = cli("dr-test", "--pitr", "--repo", repo, "--command", launcher.toString(), "--format", "json");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.json().path("passed").asBoolean(), r::toString);
        assertEquals(baseId, r.json().path("base_backup").asText());
        assertTrue(s3.keys(BUCKET).stream().anyMatch(k -> k.startsWith("prod/.restore_points/")), s3.keys(BUCKET)::toString);
    }

    @Test
    @Order(9)
    void aDamagedObjectOfTheBaseBackupFailsVerify() throws Exception {
        String key = "prod/" + baseId + "/backup_manifest";
        byte[] bytes;
        try (var in = s3.client().getObject(g -> g.bucket(BUCKET).key(key))) {
            bytes = in.readAllBytes();
        }
        bytes[bytes.length / 2] ^= 0x01;
        byte[] damaged = bytes;
        s3.client().putObject(p -> p.bucket(BUCKET).key(key), RequestBody.fromBytes(damaged));
        CliRun v = cli("verify", "--repo", repo, "--backup", baseId);
        assertEquals(2, v.exitCode(), v::toString);
        assertTrue(v.out().contains("backup_manifest"), v::toString);
    }

    private List<String> keysUnder(String prefix) {
        return s3.keys(BUCKET).stream().filter(k -> k.startsWith(prefix + "/")).toList();
    }

    /** This process's spooled base backups and copies of base backups (the spool is shared with other tests). */
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
        Map<String, String> env = new HashMap<>(dev.chronodr.testing.PgCluster.wrap(pg).env(DB));
        env.putAll(s3.env());
        return env;
    }

    private CliRun cli(String... args) {
        return CliRun.run(env(), tmp, args);
    }
}
