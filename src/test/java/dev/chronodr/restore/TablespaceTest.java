package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Comparator;
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
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.pg.ServiceUser;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.ServerLauncher;
import dev.chronodr.testing.StandInDocker;
import dev.chronodr.wal.ArchiveCommand;

/**
 * A cluster with a tablespace outside its data directory: the base backup keeps it as
 * OID.tar, verify checks it with pg_verifybackup, and a restore puts it where
 * --tablespace-map says, never over a directory that has files.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TablespaceTest {
    private static final String DB = "media";
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final Secret password = Secret.of("ts-" + System.nanoTime());
    private Path tmp;
    private Path repo;
    private Path launcher;
    private Path bin;
    private Path spaceDir;
    private LocalCluster pg;
    private final java.util.List<LocalCluster> copies = new java.util.ArrayList<>();
    private String baseId;

    @BeforeAll
    void start() throws Exception {
        Optional<Path> found = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(found.isPresent(), "needs local PostgreSQL server binaries");
        bin = found.get();
        tmp = Files.createTempDirectory("chrono-dr-tablespace-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        launcher = ServerLauncher.write(tmp);
        repo = Files.createDirectories(tmp.resolve("repo"));
        ServiceUser.handOver(repo);
        spaceDir = Files.createDirectories(tmp.resolve("space"));
        ServiceUser.handOver(spaceDir);
        pg = LocalCluster.create(tmp.resolve("pg"), bin, password, LocalCluster.Options.defaults()
                .withSetting("archive_mode", "on")
                .withSetting("archive_command", PitrRestoreService.conf(ArchiveCommand.push(java.util.List.of(launcher.toString()), repo)))
                .withSetting("wal_level", "replica"), runner);
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLESPACE media_space LOCATION '" + spaceDir + "'");
        pg.execute(DB, "CREATE TABLE images (id int PRIMARY KEY, name text) TABLESPACE media_space");
        pg.execute(DB, "INSERT INTO images SELECT i, 'image ' || i FROM generate_series(1, 500) i");
        pg.execute(DB, "CREATE TABLE notes (id int PRIMARY KEY)"); // in the default tablespace
        pg.execute(DB, "INSERT INTO notes SELECT generate_series(1, 7)");
    }

    @AfterAll
    void stop() throws IOException {
        copies.forEach(LocalCluster::remove);
        if (pg != null) {
            pg.remove();
        }
        if (tmp != null) {
            try (var walk = Files.walk(tmp)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    @Order(1)
    void theBaseBackupKeepsTheTablespaceAndVerifies() throws Exception {
        CliRun r = cli("backup", "--type", "physical", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, r.exitCode(), r::toString);
        JsonNode j = r.json();
        baseId = j.path("id").asText();
        JsonNode spaces = j.path("pitr").path("tablespaces");
        assertEquals(1, spaces.size(), j.toString());
        assertEquals("media_space", spaces.get(0).path("name").asText());
        assertEquals(spaceDir.toString(), spaces.get(0).path("location").asText());
        String tar = spaces.get(0).path("oid").asText() + ".tar.zst";
        assertTrue(Files.isRegularFile(repo.resolve(baseId).resolve(tar)), "the tablespace's own tar");
        assertTrue(Files.readString(repo.resolve(baseId).resolve("manifest.json")).contains("\"" + tar + "\""), "checksummed in the manifest");

        CliRun verify = cli("verify", "--repo", repo.toString(), "--backup", baseId);
        assertEquals(0, verify.exitCode(), verify::toString);
        // (pg_verifybackup finds every file of the manifest, those under pg_tblspc/OID included, or this fails)
    }

    @Test
    @Order(2)
    void aRestoreBesideTheLiveServerNeedsANewDirectoryForTheTablespace() throws Exception {
        Path data = tmp.resolve("r1/data");
        CliRun r = CliRun.run(env(), tmp, "pitr", "restore", "--repo", repo.toString(), "--target-immediate",
                "--data-dir", data.toString(), "--port", String.valueOf(LocalCluster.freePort()), "--command", launcher.toString());
        assertEquals(64, r.exitCode(), r::toString);
        assertTrue(r.err().contains("tablespace media_space's directory " + spaceDir + " (where it was"), r::toString);
        assertTrue(r.err().contains("--tablespace-map media_space=DIR"), r::toString);
        assertFalse(Files.exists(data), "refused before anything was written");

        CliRun unknown = CliRun.run(env(), tmp, "pitr", "restore", "--repo", repo.toString(), "--target-immediate",
                "--data-dir", data.toString(), "--port", "5499", "--command", launcher.toString(), "--tablespace-map", "photos=/tmp/x");
        assertEquals(64, unknown.exitCode(), unknown::toString);
        assertTrue(unknown.err().contains("has no tablespace of that name") && unknown.err().contains("media_space"), unknown::toString);
        assertFalse(Files.exists(data));
    }

    @Test
    @Order(3)
    void restoredWithAMapTheTablespaceLivesInItsNewDirectory() throws Exception {
        Path base = Files.createDirectories(tmp.resolve("r2"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        Path moved = base.resolve("space");
        int port = LocalCluster.freePort();
        CliRun r = CliRun.run(env(), tmp, "restore", "--repo", repo.toString(), "--target-immediate",
                "--data-dir", base.resolve("data").toString(), "-p", String.valueOf(port), "--command", launcher.toString(),
                "--tablespace-map", "media_space=" + moved, "--timeout", "120");
        LocalCluster copy = LocalCluster.open(base, bin, port, password, runner);
        copies.add(copy);
        assertEquals(0, r.exitCode(), r::toString);
        try (Connection c = Database.connect(copy.connection(DB)); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT count(*), max(name) FROM images")) {
                rs.next();
                assertEquals(500, rs.getInt(1));
                assertEquals("image 99", rs.getString(2));
            }
            try (ResultSet rs = st.executeQuery("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'media_space'")) {
                rs.next();
                assertEquals(moved.toString(), rs.getString(1));
            }
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM notes")) {
                rs.next();
                assertEquals(7, rs.getInt(1));
            }
        }
        String settings = Files.readString(base.resolve("data/postgresql.auto.conf"));
        assertTrue(settings.contains(" --until " + firstBackupStopSegment()), "recovery is handed only the WAL the restore checked");
        assertTrue(settings.contains("primary_conninfo = ''") && !Files.exists(base.resolve("data/standby.signal")), "and no primary");
        assertTrue(Files.isSymbolicLink(base.resolve("data/pg_tblspc")
                .resolve(String.valueOf(readOid()))), "the server linked pg_tblspc to the new directory");
        try (var ls = Files.list(spaceDir)) {
            assertEquals(1, ls.count(), "the live tablespace's directory holds only its own PG_ version directory");
        }
    }

    @Test
    @Order(4)
    void throughAContainerATablespaceIsRefusedUpFront() throws Exception {
        Map<String, String> env = env();
        env.put("CHRONO_DR_DOCKER", StandInDocker.write(tmp, bin, pg.port()).toString());
        CliRun r = CliRun.run(env, tmp, "backup", "--type", "physical", "--repo", repo.toString(), "--exec", "docker", "--container", "db");
        assertEquals(1, r.exitCode(), r::toString);
        assertTrue(r.err().contains("1 tablespace(s) outside its data directory"), r::toString);
        try (var ls = Files.list(repo)) {
            assertEquals(1, ls.filter(p -> p.getFileName().toString().startsWith("cluster_physical_")).count(), "no second backup");
        }
    }

    @Test
    @Order(5)
    void aTablespaceCreatedAfterTheBackupIsNeverSharedWithTheLiveServer() throws Exception {
        Path later = Files.createDirectories(tmp.resolve("later"));
        ServiceUser.handOver(later);
        pg.execute(DB, "CREATE TABLESPACE later_space LOCATION '" + later + "'");
        pg.execute(DB, "CREATE TABLE late (id int) TABLESPACE later_space");
        pg.execute(DB, "INSERT INTO late SELECT generate_series(1, 3)");
        assertEquals(0, cli("restore-point", "after-late", "--repo", repo.toString()).exitCode());
        Path base = Files.createDirectories(tmp.resolve("r3"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        int port = LocalCluster.freePort();
        String[] args = {"pitr", "restore", "--repo", repo.toString(), "--target-name", "after-late", "--data-dir",
                base.resolve("data").toString(), "--port", String.valueOf(port), "--command", launcher.toString(),
                "--tablespace-map", "media_space=" + base.resolve("media"), "--timeout", "120", "--format", "json"};

        // the restore point's segment is not archived yet: recovery could not reach it, and the WAL cannot be checked
        CliRun early = CliRun.run(env(), tmp, args);
        assertEquals(64, early.exitCode(), early::toString);
        assertTrue(early.out().contains("is not archived yet"), early::toString);

        CliRun inc = cli("backup", "--type", "incremental", "--repo", repo.toString());
        assertEquals(0, inc.exitCode(), inc::toString);

        // replaying CREATE TABLESPACE would link the copy to the live server's directory: refused, nothing written
        CliRun refused = CliRun.run(env(), tmp, args);
        assertEquals(1, refused.exitCode(), refused::toString);
        assertTrue(refused.out().contains("creates tablespace") && refused.out().contains(later.toString()), refused::toString);
        assertFalse(Files.exists(base.resolve("data")) || Files.exists(base.resolve("media")), "nothing was written");
        try (var ls = Files.list(later)) {
            assertEquals(1, ls.count(), "the live tablespace is as it was");
        }

        // once that directory is gone, the restore makes it empty for the replay, which fills it
        pg.execute(DB, "DROP TABLE late");
        pg.execute(DB, "DROP TABLESPACE later_space");
        Files.delete(later);
        CliRun r = CliRun.run(env(), tmp, args);
        copies.add(LocalCluster.open(base, bin, port, password, runner));
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.json().path("warnings").toString().contains("creates a tablespace at " + later), r.out());
        try (Connection c = Database.connect(copies.get(copies.size() - 1).connection(DB)); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM late")) {
            rs.next();
            assertEquals(3, rs.getInt(1));
        }
    }

    private String firstBackupStopSegment() throws IOException {
        return com.fasterxml.jackson.databind.json.JsonMapper.builder().build().readTree(repo.resolve(baseId).resolve("physical.json").toFile())
                .path("stop_wal_file").asText();
    }

    private long readOid() throws Exception {
        try (Connection c = Database.connect(pg.connection(DB)); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT oid FROM pg_tablespace WHERE spcname = 'media_space'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private Map<String, String> env() {
        return dev.chronodr.testing.PgCluster.wrap(pg).env(DB);
    }

    private CliRun cli(String... args) {
        return CliRun.run(env(), tmp, args);
    }
}
