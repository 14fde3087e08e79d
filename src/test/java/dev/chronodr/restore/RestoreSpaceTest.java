package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.ComposeFrontEnd;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.PgVersion;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;
import dev.chronodr.testing.StandInDocker;

/**
 * A restore that would not fit is refused before anything is written: a real 40 MB tmpfs
 * holds the live database's tablespace, and a ballast file leaves less free than the restore needs.
 */
@PostgresTest
class RestoreSpaceTest {
    private final PgCluster pg;
    @TempDir
    Path dir;
    private Path mount;

    RestoreSpaceTest(PgCluster pg) {
        this.pg = pg;
    }

    @AfterEach
    void unmount() throws Exception {
        if (mount == null) {
            return;
        }
        pg.execute("postgres", "DROP DATABASE IF EXISTS space_live WITH (FORCE)");
        pg.execute("postgres", "DROP DATABASE IF EXISTS space_copy WITH (FORCE)");
        pg.query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'space\\_live\\_%'")
                .forEach(r -> pg.execute("postgres", "DROP DATABASE \"" + r.get("datname") + "\" WITH (FORCE)"));
        pg.execute("postgres", "DROP TABLESPACE IF EXISTS space_ts");
        new ProcessRunner(System.getenv()).execute(ProcessSpec.of("umount", mount.toString()));
        Files.deleteIfExists(mount);
    }

    /** Mounts a 40 MB tmpfs the server can write to, or skips the test with the reason. */
    private Path tmpfs() throws Exception {
        Path m = Files.createTempDirectory(Path.of("/tmp"), "chrono-dr-tmpfs");
        Files.setPosixFilePermissions(m, PosixFilePermissions.fromString("rwxr-xr-x"));
        var r = new ProcessRunner(System.getenv()).execute(ProcessSpec.of("mount", "-t", "tmpfs", "-o", "size=40m,mode=0755", "tmpfs", m.toString()));
        if (!r.succeeded()) {
            Files.deleteIfExists(m);
            Assumptions.assumeTrue(false, "cannot mount a tmpfs here (needs root): " + r.stderrTail().strip());
        }
        mount = m;
        Path ts = Files.createDirectory(m.resolve("ts"));
        new ProcessRunner(System.getenv()).run(ProcessSpec.of("chown", "postgres:postgres", ts.toString()));
        return ts;
    }

    private long fingerprint() {
        return ((Number) pg.scalar("space_live", "SELECT sum(hashtext(v)) FROM t")).longValue();
    }

    @Test
    void aRestoreThatDoesNotFitIsRefusedWithBothNumbersAndNothingIsTouched() throws Exception {
        Path ts = tmpfs();
        pg.execute("postgres", "CREATE TABLESPACE space_ts LOCATION '" + ts + "'");
        pg.execute("postgres", "CREATE DATABASE space_live TABLESPACE space_ts");
        pg.execute("space_live", "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 60000) g");
        Path repo = dir.resolve("repo");
        assertEquals(0, CliRun.run(pg.env("space_live"), dir, "backup", "--repo", repo.toString()).exitCode());
        pg.execute("space_live", "DELETE FROM t WHERE id % 2 = 0");
        long live = fingerprint();

        // Ballast: leave 6 MB free on the tablespace's filesystem, less than a second copy needs,
        // enough once the live database (about 12 MB) is dropped first.
        ballast(ts, 6L << 20);

        for (List<String> mode : List.of(List.of("--yes"), List.of("--target-db", "space_copy"), List.of("--yes", "-j", "2"))) {
            List<String> args = new java.util.ArrayList<>(List.of("restore", "--repo", repo.toString(), "--latest"));
            args.addAll(mode);
            CliRun r = CliRun.run(pg.env("space_live"), dir, args.toArray(String[]::new));
            assertEquals(1, r.exitCode(), mode + "\n" + r);
            assertTrue(r.err().matches("(?s).*the restore needs about [0-9.]+ [KMG]iB on " + java.util.regex.Pattern.quote(ts.toString())
                    + ".* and only [0-9.]+ [KMG]iB is free there; nothing was touched.*"), r.err());
            assertTrue(r.err().contains("--in-place would"), r.err());
            assertEquals(live, fingerprint(), "the live database is unchanged");
            assertEquals(0L, ((Number) pg.scalar("postgres",
                    "SELECT count(*) FROM pg_database WHERE datname = 'space_copy' OR datname LIKE 'space\\_live\\_%'")).longValue());
            try (var s = Files.list(Files.createDirectories(repo.resolve(".partial")))) {
                assertTrue(s.filter(p -> p.getFileName().toString().equals(".unpack")).allMatch(p -> p.toFile().list().length == 0));
            }
        }

        // With 5 MB more taken, not even --in-place fits, and the hint says so.
        Files.write(mount.resolve("ballast2"), new byte[5 << 20]);
        CliRun neither = CliRun.run(pg.env("space_live"), dir, "restore", "--repo", repo.toString(), "--latest", "--yes");
        assertEquals(1, neither.exitCode(), neither.toString());
        assertTrue(neither.err().contains("--in-place would not fit either"), neither.err());
        CliRun inPlaceRefused = CliRun.run(pg.env("space_live"), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "--in-place");
        assertEquals(1, inPlaceRefused.exitCode(), inPlaceRefused.toString());
        assertTrue(inPlaceRefused.err().contains("once the live database is dropped"), inPlaceRefused.err());
        assertEquals(live, fingerprint(), "the live database is not dropped by a refused --in-place");
        Files.delete(mount.resolve("ballast2"));

        // As the hint says, --in-place fits: dropping the live database first gives its space back.
        CliRun inPlace = CliRun.run(pg.env("space_live"), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "--in-place");
        assertEquals(0, inPlace.exitCode(), inPlace.toString());
        assertEquals(60000L, ((Number) pg.scalar("space_live", "SELECT count(*) FROM t")).longValue());
        assertEquals("space_ts", pg.scalar("postgres",
                "SELECT t.spcname FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = 'space_live'"));

        // Without the ballast a replace fits and goes ahead (--latest is now the in-place's safety backup: 30000 rows).
        Files.delete(mount.resolve("ballast"));
        CliRun ok = CliRun.run(pg.env("space_live"), dir, "restore", "--repo", repo.toString(), "--latest", "--yes");
        assertEquals(0, ok.exitCode(), ok.toString());
        assertEquals(30000L, ((Number) pg.scalar("space_live", "SELECT count(*) FROM t")).longValue());
    }

    /** Fills the filesystem at {@code where} until {@code free} bytes are left. */
    private void ballast(Path where, long free) throws Exception {
        long usable = Files.getFileStore(where).getUsableSpace();
        try (FileChannel ch = FileChannel.open(mount.resolve("ballast"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer chunk = java.nio.ByteBuffer.allocate(1 << 16);
            for (long left = usable - free; left > 0; left -= chunk.capacity()) {
                chunk.clear();
                if (left < chunk.capacity()) {
                    chunk.limit((int) left);
                }
                ch.write(chunk);
            }
        }
    }

    @Test
    void needsOnOneFilesystemAddUp() throws Exception {
        Path ts = tmpfs();
        pg.execute("postgres", "CREATE TABLESPACE space_ts LOCATION '" + ts + "'");
        pg.execute("postgres", "CREATE DATABASE space_live TABLESPACE space_ts");
        pg.execute("space_live", "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 30000) g");
        Path repo = mount.resolve("repo"); // the repository, and so the -j copy, on the same filesystem as the tablespace
        assertEquals(0, CliRun.run(pg.env("space_live"), dir, "backup", "--repo", repo.toString()).exitCode());
        var manifest = RestoreSource.latest(new dev.chronodr.repo.Repository(repo), "space_live").manifest();
        long dump = manifest.file("dump").uncompressedBytes();
        long database = RestoreSpace.DATA_FACTOR * dump + RestoreSpace.ROW_OVERHEAD * 30000L
                + ((Number) pg.scalar("postgres", "SELECT pg_database_size('template0')")).longValue();
        // Room for the database, not for the database and the decompressed copy beside it.
        ballast(ts, database + dump / 2);

        CliRun parallel = CliRun.run(pg.env("space_live"), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "-j", "2");
        assertEquals(1, parallel.exitCode(), parallel.toString());
        assertTrue(parallel.err().contains("for the restored database") && parallel.err().contains(" + ")
                && parallel.err().contains("for the decompressed copy for --jobs"), parallel.err());
        CliRun single = CliRun.run(pg.env("space_live"), dir, "restore", "--repo", repo.toString(), "--latest", "--yes");
        assertEquals(0, single.exitCode(), single.toString());
        assertEquals(30000L, ((Number) pg.scalar("space_live", "SELECT count(*) FROM t")).longValue());
    }

    @Test
    void inTheContainerDfReadsTheFreeSpace() throws Exception {
        Path ts = tmpfs();
        // A docker stand-in whose container is this machine: "docker exec C df ..." runs df here.
        Path docker = dir.resolve("docker-df");
        Files.writeString(docker, "#!/bin/bash\n[ \"$1 $2\" = \"exec -i\" ] || exit 90\nshift 3\nexec \"$@\"\n");
        Files.setPosixFilePermissions(docker, PosixFilePermissions.fromString("rwx------"));
        ProcessRunner runner = new ProcessRunner(System.getenv());
        PgTools tools = new PgTools(new ExecSettings(ExecMode.DOCKER, null, null, "db", null, 5432, docker.toString()),
                pg.connection("postgres"), runner, new ToolLocator(runner, System.getenv()), PgVersion.ofMajor(15));
        RestoreSpace.Need n = RestoreSpace.containerDf(tools, "x", ts.toString(), 1, true);
        assertEquals(null, n.unknown());
        assertEquals("container:" + mount, n.key());
        long local = Files.getFileStore(ts).getUsableSpace();
        assertTrue(Math.abs(n.free() - local) < (1 << 20), n.free() + " vs " + local);
        assertEquals(List.of("docker", "compose", "-f", "/x/c.yml", "exec", "-T", "pg", "df", "-Pk", "/d"), ComposeFrontEnd.V2.inContainer(
                new ExecSettings(ExecMode.COMPOSE, "pg", Path.of("/x/c.yml"), null, null, 5432, "docker"), List.of("df", "-Pk", "/d")));
    }

    @Test
    void whereFreeSpaceCannotBeLearnedOnlyYesGoesOn() throws Exception {
        pg.createDatabase("space_unknown");
        pg.execute("space_unknown", "CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
        Path repo = dir.resolve("repo-unknown");
        assertEquals(0, CliRun.run(pg.env("space_unknown"), dir, "backup", "--repo", repo.toString()).exitCode());
        // The stand-in docker runs PostgreSQL's tools only: df in the "container" fails, so free space is unknown.
        Map<String, String> env = new LinkedHashMap<>(pg.env("space_unknown"));
        env.put("CHRONO_DR_DOCKER", StandInDocker.write(dir, pg.binDir(), pg.port()).toString());
        CliRun refused = CliRun.run(env, dir, "restore", "--repo", repo.toString(), "--latest", "--target-db", "space_unknown_copy",
                "--exec", "docker", "--container", "db");
        assertEquals(64, refused.exitCode(), refused.toString());
        assertTrue(refused.err().contains("cannot check free space") && refused.err().contains("--yes"), refused.err());
        assertTrue(pg.query("postgres", "SELECT 1 FROM pg_database WHERE datname = 'space_unknown_copy'").isEmpty());

        CliRun yes = CliRun.run(env, dir, "restore", "--repo", repo.toString(), "--latest", "--target-db", "space_unknown_copy",
                "--exec", "docker", "--container", "db", "--yes");
        assertEquals(0, yes.exitCode(), yes.toString());
        assertTrue(yes.out().contains("free space not checked"), yes.out());
        assertEquals(1L, ((Number) pg.scalar("space_unknown_copy", "SELECT count(*) FROM t")).longValue());
    }
}
