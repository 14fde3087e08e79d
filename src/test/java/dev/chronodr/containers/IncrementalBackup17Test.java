package dev.chronodr.containers;

import static dev.chronodr.testing.DockerEngine.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.backup.IncrementalResult;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Json;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.restore.IncrementalRestore;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.DockerEngine;
import dev.chronodr.testing.DockerTest;

/**
 * PostgreSQL 17's incremental base backups, for real, with the database in a container and
 * chrono-dr on the host (--exec docker): a full base backup, two incrementals (each taken
 * against the newest backup's manifest, which reaches the container's pg_basebackup on
 * stdin), pg_combinebackup from the image over the chain, and a server started on the
 * combined directory holding exactly the data of the last incremental. The server archives
 * into the repository's wal/ the way wal-push does (zstd plus a SHA-256 sidecar), from a
 * shell archive_command, since chrono-dr is not inside the image.
 */
@DockerTest(postgres = 17)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IncrementalBackup17Test {
    private static final String IMAGE = DockerEngine.postgresImage(17);
    private static final String PASSWORD = "pw-" + Long.toString(System.nanoTime(), 36);
    /** wal-push's layout: wal/TIMELINE/NAME.zst with NAME.sha256 ("hex  NAME"), each renamed into place. */
    private static final String ARCHIVE = "d=/archive/$(echo %f | cut -c1-8) && mkdir -p $d"
            + " && echo \"$(sha256sum %p | cut -c1-64)  %f\" > $d/.%f.sha256.1.tmp && mv $d/.%f.sha256.1.tmp $d/%f.sha256"
            + " && zstd -q -1 -f %p -o $d/.%f.zst.1.tmp && mv $d/.%f.zst.1.tmp $d/%f.zst";

    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final String name = "chronodr-incr-" + Long.toString(System.nanoTime(), 36);
    private final List<String> containers = new ArrayList<>();
    private Path dir;
    private Path repo;
    private int port;

    @BeforeAll
    void up() throws Exception {
        dir = Files.createTempDirectory("chrono-dr-incr-");
        repo = Files.createDirectories(dir.resolve("repo"));
        Path wal = Files.createDirectories(repo.resolve("wal"));
        Files.setPosixFilePermissions(wal, PosixFilePermissions.fromString("rwxrwxrwx")); // the container's postgres writes it
        port = dev.chronodr.sandbox.LocalCluster.freePort();
        containers.add(name);
        docker("run", "-d", "--name", name, "-e", "POSTGRES_PASSWORD=" + PASSWORD, "-e", "POSTGRES_USER=chrono", "-e", "POSTGRES_DB=shop",
                "-p", "127.0.0.1:" + port + ":5432", "-v", wal + ":/archive", IMAGE,
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

    @AfterAll
    void down() throws IOException {
        for (String c : containers) {
            try {
                docker("rm", "-f", "-v", c);
            } catch (AssertionError e) {
                System.err.println("could not remove container " + c + ": " + e.getMessage());
            }
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void fullAndTwoIncrementalsCombineIntoTheDataOfTheLastAndWithoutSummariesItIsAWalSwitch() throws Exception {
        CliRun full = chrono("backup", "--type", "physical");
        assertEquals(0, full.exitCode(), full::toString);
        String fullId = full.json().path("id").asText();

        sql("UPDATE items SET v = v + 1 WHERE id <= 1000", "INSERT INTO items VALUES (100001, 1, 'after the full backup')");
        CliRun inc1 = chrono("backup", "--type", "incremental");
        assertEquals(0, inc1.exitCode(), inc1::toString);
        assertEquals(IncrementalResult.NATIVE, inc1.json().path("method").asText(), inc1::toString);
        assertEquals(fullId, inc1.json().path("base_backup").asText(), inc1::toString);
        String inc1Id = backupId(inc1.json());
        assertEquals(fullId, info(inc1Id).parent());
        String tool = Files.readString(repo.resolve(inc1Id).resolve("manifest.json"));
        assertTrue(tool.contains("docker pg_basebackup") && tool.contains("--incremental against " + fullId), tool);

        sql("UPDATE items SET v = v + 10 WHERE id BETWEEN 1001 AND 2000", "DELETE FROM items WHERE id BETWEEN 19001 AND 19100",
                "INSERT INTO items VALUES (100002, 2, 'after the first incremental')");
        String expected = digest();
        CliRun inc2 = chrono("backup", "--type", "incremental");
        assertEquals(0, inc2.exitCode(), inc2::toString);
        String inc2Id = backupId(inc2.json());
        assertEquals(inc1Id, info(inc2Id).parent(), "the newest base backup, itself incremental, is the parent");
        long fullBytes = Files.size(repo.resolve(fullId).resolve("base.tar.zst"));
        long incBytes = Files.size(repo.resolve(inc2Id).resolve("base.tar.zst"));
        assertTrue(incBytes < fullBytes / 2, "an incremental holds the changed blocks: " + incBytes + " of " + fullBytes + " bytes");

        CliRun list = chrono("list");
        assertEquals(0, list.exitCode(), list::toString);
        assertTrue(list.out().contains("incremental of " + inc1Id), list::toString);

        PitrCatalog catalog = PitrCatalog.of(repo);
        PhysicalBackupInfo last = info(inc2Id);
        if (IncrementalRestore.locate(null, 17).isEmpty()) { // this host has PostgreSQL 15's programs only
            ChronoException none = assertThrows(ChronoException.class,
                    () -> IncrementalRestore.of(catalog, last, null, new Environment(Map.of(), dir), runner));
            assertEquals(ExitCode.UNKNOWN, none.exitCode());
            assertTrue(none.getMessage().contains("needs pg_combinebackup 17") && none.hint().contains("postgresql-client-17"), none::getMessage);
        }
        IncrementalRestore restore = IncrementalRestore.of(catalog, last, null,
                new Environment(Map.of(IncrementalRestore.IMAGE_VAR, IMAGE), dir), runner);
        assertEquals(List.of(fullId, inc1Id, inc2Id), restore.chain().stream().map(PhysicalBackupInfo::id).toList());
        Path data = Files.createDirectories(dir.resolve("restored").resolve("data"));
        restore.combineInto(data, null, java.util.List.of());
        // The WAL from the last backup's start to its end, as a restore's wal-fetch would hand it out
        WalArchive archive = new WalArchive(repo);
        for (String seg = last.startWalFile(); seg.compareTo(last.stopWalFile()) <= 0; seg = PitrCatalog.next(seg, last.walSegmentSize())) {
            assertTrue(archive.fetch(seg, data.resolve("pg_wal").resolve(seg)).isPresent(), "archived: " + seg);
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
        assertEquals(expected, got, "the combined chain holds the data as of the last incremental");

        sql("ALTER SYSTEM SET summarize_wal = off", "SELECT pg_reload_conf()");
        CliRun sw = chrono("backup", "--type", "incremental");
        assertEquals(0, sw.exitCode(), sw::toString);
        assertEquals("wal-switch", sw.json().path("method").asText(), sw::toString);
        assertTrue(sw.json().path("reason").asText().contains("summarize_wal is off"), sw::toString);
    }

    private static final String DIGEST = "SELECT md5(string_agg(i::text, ',' ORDER BY id)) || ':' || count(*) FROM items i";

    private String digest() throws SQLException {
        try (Connection c = connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(DIGEST)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String backupId(JsonNode result) {
        return result.path("backup").path("id").asText();
    }

    private PhysicalBackupInfo info(String id) throws IOException {
        return Json.mapper().readValue(repo.resolve(id).resolve(PhysicalBackupInfo.FILE_NAME).toFile(), PhysicalBackupInfo.class);
    }

    private CliRun chrono(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--exec", "docker", "--container", name, "-h", "127.0.0.1", "-p", String.valueOf(port), "-U", "chrono",
                "-d", "shop", "--repo", repo.toString(), "--format", "json"));
        Map<String, String> env = new HashMap<>(System.getenv());
        List.of("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "CHRONO_DR_CONFIG", "CHRONO_DR_REPO").forEach(env::remove);
        env.put("PGPASSWORD", PASSWORD);
        return CliRun.run(env, dir, all.toArray(String[]::new));
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

}
