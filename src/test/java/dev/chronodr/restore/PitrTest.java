package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
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

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.Database;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.testing.CliRun;
import dev.chronodr.wal.ArchiveCommand;

/**
 * Point-in-time recovery end to end on a real cluster whose archive_command is the real
 * wal-push: a wrapper script runs chrono-dr's classes (copied where the postgres OS user
 * can read them) in a fresh JVM per segment, exactly as in production.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PitrTest {
    private static final String DB = "shop";
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final List<LocalCluster> restored = new ArrayList<>();
    private Path tmp;
    private Path repo;
    private Path launcher;
    private Path bin;
    private LocalCluster pg;
    private final Secret password = Secret.of("pitr-" + System.nanoTime());

    @BeforeAll
    void start() throws Exception {
        Optional<Path> found = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(found.isPresent(), "needs local PostgreSQL server binaries");
        bin = found.get();
        tmp = Files.createTempDirectory("chrono-dr-pitr-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        launcher = dev.chronodr.testing.ServerLauncher.write(tmp);
        repo = tmp.resolve("repo");
        Files.createDirectories(repo);
        giveToPostgres(repo);
        String archive = ArchiveCommand.push(List.of(launcher.toString()), repo);
        pg = LocalCluster.create(tmp.resolve("pg"), bin, password, LocalCluster.Options.defaults()
                .withSetting("archive_mode", "on")
                .withSetting("archive_command", PitrRestoreService.conf(archive))
                .withSetting("wal_level", "replica")
                .withSetting("autovacuum", "off"), runner); // no commits but the tests' own: Order(14) needs a quiet WAL
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE orders (id serial PRIMARY KEY, batch int NOT NULL)");
    }

    @AfterAll
    void stop() {
        for (LocalCluster c : restored) {
            c.remove();
        }
        if (pg != null) {
            pg.remove();
        }
        if (tmp != null) {
            try (var walk = Files.walk(tmp)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // temp files
            }
        }
    }

    private OffsetDateTime batch1;
    private OffsetDateTime batch2;
    private String baseId;

    @Test
    @Order(1)
    void baseBackupIsVerifiableAndRecordsItsWalRange() throws Exception {
        CliRun r = cli("backup", "--type", "physical", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, r.exitCode(), r::toString);
        JsonNode j = r.json();
        baseId = j.path("id").asText();
        Path dir = repo.resolve(baseId);
        assertTrue(Files.isRegularFile(dir.resolve("base.tar.zst")));
        assertTrue(Files.isRegularFile(dir.resolve("backup_manifest")));
        assertEquals(1, j.path("pitr").path("timeline").asInt());
        assertTrue(new WalArchive(repo).contains(j.path("pitr").path("stop_wal_file").asText()), "its last segment is archived");
        assertTrue(Files.isRegularFile(dir.resolve("pg_wal.tar.zst")), "the WAL from start to end is in the backup");
        assertFalse(Files.exists(dir.resolve("pg_wal.tar")), "and only compressed");

        // PostgreSQL's own tool accepts it, WAL included: it parses the backup's WAL from start to end
        Path check = Files.createDirectories(tmp.resolve("verify"));
        PitrRestoreService.extract(dir.resolve("base.tar.zst"), check);
        PitrRestoreService.extractWal(dir, check);
        assertTrue(Files.isRegularFile(check.resolve("pg_wal").resolve(j.path("pitr").path("stop_wal_file").asText())));
        var v = runner.execute(ProcessSpec.of(bin.resolve("pg_verifybackup").toString(), "-m", dir.resolve("backup_manifest").toString(),
                        check.toString())
                .withTimeout(Duration.ofMinutes(2)));
        assertEquals(0, v.exitCode(), v.stdout() + v.stderrTail());

        // and detects a damaged file
        Path pgVersion = check.resolve("PG_VERSION");
        Files.writeString(pgVersion, "99\n");
        var damaged = runner.execute(ProcessSpec.of(bin.resolve("pg_verifybackup").toString(), "-m", dir.resolve("backup_manifest").toString(),
                check.toString()).withTimeout(Duration.ofMinutes(2)));
        assertTrue(damaged.exitCode() != 0 && damaged.stderrTail().contains("PG_VERSION"), damaged.stderrTail());
    }

    @Test
    @Order(2)
    void writeThreeBatches() throws Exception {
        insertBatch(1);
        batch1 = serverNow();
        Thread.sleep(1100);
        insertBatch(2);
        CliRun rp = cli("restore-point", "after-batch-2", "--repo", repo.toString());
        assertEquals(0, rp.exitCode(), rp::toString);
        batch2 = serverNow();
        Thread.sleep(1100);
        insertBatch(3);
        CliRun inc = cli("backup", "--type", "incremental", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, inc.exitCode(), inc::toString);
        assertEquals("wal-switch", inc.json().path("method").asText());
        assertEquals(baseId, inc.json().path("base_backup").asText());
        assertTrue(new WalArchive(repo).contains(inc.json().path("wal_file").asText()));
    }

    @Test
    @Order(3)
    void restoreToTheTimeAfterBatchOne() throws Exception {
        assertEquals(List.of(1, 1, 1), restoreAndRead("r1", "--point-in-time", batch1.toString()));
    }

    @Test
    @Order(4)
    void restoreToTheTimeAfterBatchTwo() throws Exception {
        // The runbook's spelling: the top-level restore command with --point-in-time and -p for the recovered server.
        assertEquals(List.of(1, 1, 1, 2, 2, 2), restoreAndRead("r2", "--point-in-time", batch2.toString(), "--via-restore"));
    }

    @Test
    @Order(5)
    void restoreToANamedRestorePoint() throws Exception {
        assertEquals(List.of(1, 1, 1, 2, 2, 2), restoreAndRead("r3", "--target-name", "after-batch-2"));
    }

    @Test
    @Order(6)
    void aTargetBeforeTheOldestBaseBackupIsRefusedWithTheWindow() throws Exception {
        Path data = tmp.resolve("r4/data");
        CliRun r = CliRun.run(env(), tmp, "pitr", "restore", "--repo", repo.toString(), "--point-in-time",
                batch1.minusHours(1).toString(), "--data-dir", data.toString(), "--port", "5999", "--command", launcher.toString());
        assertEquals(64, r.exitCode(), r::toString);
        assertTrue(r.err().contains("recoverable window:") && r.err().contains("before the oldest base backup"), r::toString);
        assertTrue(!Files.exists(data), "nothing was touched");
    }

    @Test
    @Order(7)
    void setupPrintsAndAppliesTheArchivingSettings() throws Exception {
        CliRun shown = cli("pitr", "setup", "--repo", repo.toString(), "--rpo", "10", "--command", "/opt/chrono%dr/chrono-dr",
                "--format", "json");
        assertEquals(0, shown.exitCode(), shown::toString);
        JsonNode settings = shown.json().path("settings");
        String command = shown.json().path("archive_command").asText();
        // the shell's answer for a segment wal-archiver stored ahead, else wal-push
        assertTrue(command.startsWith("f=%f p=%p; a=.chrono-dr-archived/"), command);
        assertTrue(command.endsWith("; exec '/opt/chrono%%dr/chrono-dr' wal-push --repo " + repo + " \"$p\""), command);
        assertEquals(ArchiveCommand.pushHandedOff(List.of("/opt/chrono%dr/chrono-dr"), repo.toString()), command);
        assertEquals("300s", settings.get(3).path("wanted").asText());
        assertTrue(settings.get(3).path("change").asBoolean());
        assertEquals("on", settings.get(1).path("current").asText()); // archive_mode, already on

        CliRun applied = cli("pitr", "setup", "--repo", repo.toString(), "--rpo", "10", "--command", launcher.toString(), "--apply");
        assertEquals(0, applied.exitCode(), applied::toString);
        try (Connection c = Database.connect(pg.connection(DB)); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_setting('archive_timeout'), current_setting('archive_command')")) {
            rs.next();
            assertEquals("5min", rs.getString(1));
            assertEquals(ArchiveCommand.pushHandedOff(List.of(launcher.toString()), repo.toString()), rs.getString(2));
        }
        assertTrue(!applied.out().contains("restart of PostgreSQL is required"), applied::toString);
    }

    @Test
    @Order(8)
    void listShowsTheWindowAndVerifyRunsPgVerifybackup() throws Exception {
        CliRun list = cli("list", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, list.exitCode(), list::toString);
        JsonNode p = list.json().path("point_in_time");
        assertEquals(1, p.path("base_backups").asInt());
        assertTrue(p.path("wal_segments").asInt() >= 3, p.toString());
        assertTrue(!p.path("earliest_recoverable").isMissingNode() && !p.path("latest_recoverable").isMissingNode(), p.toString());
        CliRun verify = cli("verify", "--repo", repo.toString(), "--backup", baseId);
        assertEquals(0, verify.exitCode(), verify::toString);
    }

    @Test
    @Order(9)
    void cleanupKeepsTheWalTheKeptBaseBackupNeeds() throws Exception {
        CliRun second = cli("backup", "--type", "physical", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, second.exitCode(), second::toString);
        String secondStart = second.json().path("pitr").path("start_wal_file").asText();
        WalArchive archive = new WalArchive(repo);
        long olderBefore = archive.list().stream().filter(WalArchive.Entry::isSegment).filter(e -> e.name().compareTo(secondStart) < 0).count();
        assertTrue(olderBefore > 0);
        CliRun clean = cli("cleanup", "--repo", repo.toString(), "--keep-last", "1", "--format", "json");
        assertEquals(0, clean.exitCode(), clean::toString);
        assertEquals(baseId, clean.json().path("deleted").get(0).path("id").asText(), "the older base backup goes");
        assertEquals(olderBefore, clean.json().path("wal").path("deleted").size());
        assertEquals(0, archive.list().stream().filter(WalArchive.Entry::isSegment).filter(e -> e.name().compareTo(secondStart) < 0).count());
        assertTrue(archive.contains(secondStart), "the kept base backup's WAL stays");
        baseId = second.json().path("id").asText();
    }

    @Test
    @Order(10)
    void aMissingSegmentIsFoundByVerifyAndRefusedByRestore() throws Exception {
        OffsetDateTime after = null;
        for (int i = 0; i < 3; i++) {
            insertBatch(4); // a switch with nothing written since the last one makes no new segment
            CliRun inc = cli("backup", "--type", "incremental", "--repo", repo.toString(), "--format", "json");
            assertEquals(0, inc.exitCode(), inc::toString);
            if (i == 1) {
                after = serverNow(); // inside the archive's window, past the segment removed below
            }
        }
        WalArchive archive = new WalArchive(repo);
        List<WalArchive.Entry> segments = archive.list().stream().filter(WalArchive.Entry::isSegment).toList();
        assertTrue(segments.size() >= 3, segments.toString());
        WalArchive.Entry middle = segments.get(1);
        archive.delete(middle);
        CliRun verify = cli("verify", "--repo", repo.toString(), "--backup", baseId);
        assertEquals(2, verify.exitCode(), verify::toString);
        assertTrue(verify.out().contains("WAL segment " + middle.name() + " is missing"), verify.out());
        Path data = tmp.resolve("r-gap/data");
        CliRun r = CliRun.run(env(), tmp, "restore", "--repo", repo.toString(), "--point-in-time", after.toString(),
                "--data-dir", data.toString(), "-p", String.valueOf(LocalCluster.freePort()), "--command", launcher.toString());
        assertEquals(1, r.exitCode(), r::toString);
        assertTrue(r.err().contains("WAL segment " + middle.name() + " is missing from the archive"), r::toString);
        assertTrue(!Files.exists(data), "refused before anything was touched");
    }

    @Test
    @Order(11)
    void throughAContainerTheTarIsStreamedAndStillVerifiable() throws Exception {
        Path fake = dev.chronodr.testing.StandInDocker.write(tmp, bin, pg.port());
        Map<String, String> env = env();
        env.put("CHRONO_DR_DOCKER", fake.toString());
        CliRun r = CliRun.run(env, tmp, "backup", "--type", "physical", "--repo", repo.toString(), "--exec", "docker",
                "--container", "db", "--format", "json");
        assertEquals(0, r.exitCode(), r::toString);
        String id = r.json().path("id").asText();
        JsonNode m = com.fasterxml.jackson.databind.json.JsonMapper.builder().build().readTree(repo.resolve(id).resolve("manifest.json").toFile());
        assertTrue(m.toString().contains("docker pg_basebackup to stdout"), m.toString());
        CliRun local = CliRun.run(env(), tmp, "list", "--repo", repo.toString(), "--format", "json");
        assertTrue(local.out().contains(baseId), local::toString);
        JsonNode first = com.fasterxml.jackson.databind.json.JsonMapper.builder().build()
                .readTree(repo.resolve(baseId).resolve("manifest.json").toFile());
        assertTrue(first.toString().contains("local pg_basebackup -X stream --compress=server-zstd:level=1"), first.toString());
        CliRun verify = cli("verify", "--repo", repo.toString(), "--backup", id);
        assertEquals(0, verify.exitCode(), verify::toString);
    }

    @Test
    @Order(12)
    void withoutAFreeReplicationSlotTheServerWaitsForTheArchiveInstead() throws Exception {
        // -X stream needs a temporary slot; take every free one so only -X none is left
        pg.execute(DB, """
                SELECT pg_create_physical_replication_slot('chrono_dr_test_' || i)
                FROM generate_series(1, current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_replication_slots)) i""");
        try {
            CliRun r = cli("backup", "--type", "physical", "--repo", repo.toString(), "--format", "json");
            assertEquals(0, r.exitCode(), r::toString);
            String id = r.json().path("id").asText();
            Path dir = repo.resolve(id);
            assertFalse(Files.exists(dir.resolve("pg_wal.tar.zst")), "no WAL in the backup");
            assertTrue(Files.readString(dir.resolve("manifest.json")).contains("pg_basebackup -X none"));
            assertTrue(new WalArchive(repo).contains(r.json().path("pitr").path("stop_wal_file").asText()), "its last segment is archived");
            CliRun verify = cli("verify", "--repo", repo.toString(), "--backup", id);
            assertEquals(0, verify.exitCode(), verify::toString);
        } finally {
            pg.execute(DB, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'chrono_dr_test_%'");
        }
    }

    @Test
    @Order(13)
    void uncompressedTheTarsAreKeptAsPgBasebackupWroteThem() throws Exception {
        CliRun r = cli("backup", "--type", "physical", "--repo", repo.toString(), "--compress", "none", "--format", "json");
        assertEquals(0, r.exitCode(), r::toString);
        Path dir = repo.resolve(r.json().path("id").asText());
        assertTrue(Files.isRegularFile(dir.resolve("base.tar")) && Files.isRegularFile(dir.resolve("pg_wal.tar")), dir.toString());
        CliRun verify = cli("verify", "--repo", repo.toString(), "--backup", dir.getFileName().toString());
        assertEquals(0, verify.exitCode(), verify::toString);
        Files.write(dir.resolve("pg_wal.tar"), new byte[] {1}, java.nio.file.StandardOpenOption.APPEND);
        CliRun damaged = cli("verify", "--repo", repo.toString(), "--backup", dir.getFileName().toString());
        assertEquals(2, damaged.exitCode(), damaged::toString);
        assertTrue(damaged.out().contains("pg_wal.tar"), damaged::toString);
    }

    @Test
    @Order(14)
    void targetsRecoveryCouldNotReachInTheArchiveAreRefusedUpFront() throws Exception {
        insertBatch(7);
        CliRun inc = cli("backup", "--type", "incremental", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, inc.exitCode(), inc::toString);
        // pg_switch_wal's LSN ends the switch record: the first record at or after it is in the next, unarchived segment
        String lsn = inc.json().path("switch_lsn").asText();
        Path data = tmp.resolve("r-early/data");
        CliRun early = CliRun.run(env(), tmp, "pitr", "restore", "--repo", repo.toString(), "--target-lsn", lsn, "--data-dir",
                data.toString(), "--port", String.valueOf(LocalCluster.freePort()), "--command", launcher.toString());
        assertEquals(64, early.exitCode(), early::toString);
        assertTrue(early.err().contains("the first record at or after " + lsn) && early.err().contains("not archived yet"), early::toString);

        // a time after the last commit, inside the window (WAL without a transaction was archived after it)
        OffsetDateTime afterLastCommit = serverNow();
        pg.execute(DB, "SELECT pg_logical_emit_message(false, 'chrono-dr-test', 'no transaction')");
        assertEquals(0, cli("backup", "--type", "incremental", "--repo", repo.toString()).exitCode());
        CliRun quiet = CliRun.run(env(), tmp, "pitr", "restore", "--repo", repo.toString(), "--point-in-time", afterLastCommit.toString(),
                "--data-dir", data.toString(), "--port", String.valueOf(LocalCluster.freePort()), "--command", launcher.toString());
        assertEquals(64, quiet.exitCode(), quiet::toString);
        assertTrue(quiet.err().contains("no transaction ends after"), quiet::toString);
        assertFalse(Files.exists(data), "refused before anything was written");
    }

    @Test
    @Order(15)
    void anLsnInsideTheNewestArchivedSegmentRestoresToExactlyThatPoint() throws Exception {
        insertBatch(8);
        String lsn;
        try (Connection c = Database.connect(pg.connection(DB)); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_current_wal_insert_lsn() - 1")) {
            rs.next();
            lsn = rs.getString(1); // the last byte of batch 8's commit: not where a record starts
        }
        insertBatch(9);
        assertEquals(0, cli("backup", "--type", "incremental", "--repo", repo.toString()).exitCode());
        Path base = Files.createDirectories(tmp.resolve("r-lsn"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        int port = LocalCluster.freePort();
        CliRun r = CliRun.run(env(), tmp, "pitr", "restore", "--repo", repo.toString(), "--target-lsn", lsn, "--data-dir",
                base.resolve("data").toString(), "--port", String.valueOf(port), "--command", launcher.toString(), "--timeout", "120");
        LocalCluster copy = LocalCluster.open(base, bin, port, password, runner);
        restored.add(copy);
        assertEquals(0, r.exitCode(), r::toString);
        try (Connection c = Database.connect(copy.connection(DB)); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FILTER (WHERE batch = 8), count(*) FILTER (WHERE batch = 9) FROM orders")) {
            rs.next();
            assertEquals(3, rs.getInt(1), () -> lsn + " " + r.out());
            assertEquals(0, rs.getInt(2), () -> lsn + " " + r.out());
        }
        copy.stop();
    }

    private List<Integer> restoreAndRead(String name, String... target) throws Exception {
        Path base = Files.createDirectories(tmp.resolve(name));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        int port = LocalCluster.freePort();
        boolean topLevel = List.of(target).contains("--via-restore");
        List<String> args = new ArrayList<>(topLevel ? List.of("restore", "--repo", repo.toString()) : List.of("pitr", "restore", "--repo", repo.toString()));
        args.addAll(List.of(target).stream().filter(a -> !a.equals("--via-restore")).toList());
        args.addAll(List.of("--data-dir", base.resolve("data").toString(), topLevel ? "-p" : "--port", String.valueOf(port),
                "--command", launcher.toString(), "--timeout", "120", "--format", "json"));
        CliRun r = CliRun.run(env(), tmp, args.toArray(String[]::new));
        restored.add(LocalCluster.open(base, bin, port, password, runner));
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(baseId, r.json().path("base_backup").asText());
        List<Integer> batches = new ArrayList<>();
        try (Connection c = Database.connect(LocalCluster.open(base, bin, port, password, runner).connection(DB));
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT batch FROM orders ORDER BY id")) {
            while (rs.next()) {
                batches.add(rs.getInt(1));
            }
            try (ResultSet rec = st.executeQuery("SELECT pg_is_in_recovery()")) {
                rec.next();
                assertTrue(!rec.getBoolean(1), "promoted");
            }
        }
        restored.get(restored.size() - 1).stop();
        return batches;
    }

    private void insertBatch(int n) {
        // no WAL switch between batches: fewer segments keeps each restore (a JVM per wal-fetch) quick
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
