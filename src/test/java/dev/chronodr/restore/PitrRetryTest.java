package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.Database;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.testing.CliRun;
import dev.chronodr.wal.ArchiveCommand;

/**
 * A failed point-in-time restore can be retried, and what can be checked is checked before
 * anything is written: a busy port, an unknown restore point. --force-clean empties only
 * what a failed restore left.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PitrRetryTest {
    private static final String DB = "shop";
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final List<LocalCluster> restored = new ArrayList<>();
    private final Secret password = Secret.of("retry-" + System.nanoTime());
    private Path tmp;
    private Path repo;
    private Path launcher;
    private Path bin;
    private LocalCluster pg;

    @BeforeAll
    void start() throws Exception {
        Optional<Path> found = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(found.isPresent(), "needs local PostgreSQL server binaries");
        bin = found.get();
        tmp = Files.createTempDirectory("chrono-dr-pitr-retry-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        launcher = dev.chronodr.testing.ServerLauncher.write(tmp);
        repo = Files.createDirectories(tmp.resolve("repo"));
        giveToPostgres(repo);
        pg = LocalCluster.create(tmp.resolve("pg"), bin, password, LocalCluster.Options.defaults()
                .withSetting("archive_mode", "on")
                .withSetting("archive_command", PitrRestoreService.conf(ArchiveCommand.push(List.of(launcher.toString()), repo)))
                .withSetting("wal_level", "replica"), runner);
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE orders (id serial PRIMARY KEY, batch int NOT NULL)");
        pg.execute(DB, "INSERT INTO orders (batch) SELECT 1 FROM generate_series(1, 3)");
        CliRun b = cli("backup", "--type", "physical", "--repo", repo.toString());
        assertEquals(0, b.exitCode(), b::toString);
    }

    @AfterAll
    void stop() {
        restored.forEach(LocalCluster::remove);
        if (pg != null) {
            pg.remove();
        }
        if (tmp != null) {
            dev.chronodr.repo.Repository.deleteQuietly(tmp);
        }
    }

    @Test
    void aBusyPortIsRefusedBeforeAnythingIsWritten() throws Exception {
        Path data = tmp.resolve("busy/data");
        // the live server's own port, and a port something else listens on
        CliRun r = cli("pitr", "restore", "--repo", repo.toString(), "--target-immediate", "--data-dir", data.toString(),
                "--port", String.valueOf(pg.port()), "--command", launcher.toString());
        assertEquals(1, r.exitCode(), r::toString);
        assertTrue(r.err().contains("port " + pg.port() + " is in use"), r::toString);
        assertFalse(r.err().contains("beyond the archived WAL"), r::toString);
        assertFalse(Files.exists(data), "nothing written");

        Path empty = Files.createDirectories(tmp.resolve("busy2/data"));
        try (ServerSocket other = new ServerSocket()) {
            other.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            CliRun viaRestore = cli("restore", "--repo", repo.toString(), "--target-immediate", "--data-dir", empty.toString(),
                    "-p", String.valueOf(other.getLocalPort()), "--command", launcher.toString());
            assertEquals(1, viaRestore.exitCode(), viaRestore::toString);
            assertTrue(viaRestore.err().contains("port " + other.getLocalPort() + " is in use"), viaRestore::toString);
        }
        assertFalse(PitrRestoreService.hasFiles(empty), "the empty data directory is still empty");
    }

    @Test
    void aRestoreCommandTheServerCannotRunIsRefusedBeforeAnythingIsWritten() {
        // PostgreSQL takes a failing restore_command for the end of the WAL: this one would promote at the base backup's end
        Path data = tmp.resolve("no-launcher/data");
        CliRun r = cli("pitr", "restore", "--repo", repo.toString(), "--target-latest", "--data-dir", data.toString(),
                "--port", String.valueOf(LocalCluster.freePort()), "--command", "/bin/false");
        assertEquals(1, r.exitCode(), r::toString);
        assertTrue(r.err().contains("restore_command cannot fetch WAL"), r::toString);
        assertFalse(Files.exists(data), "nothing written");
    }

    @Test
    void anUnknownRestorePointIsRefusedBeforeAnythingIsWritten() {
        Path data = tmp.resolve("unknown-name/data");
        CliRun r = cli("pitr", "restore", "--repo", repo.toString(), "--target-name", "no_such_point", "--data-dir", data.toString(),
                "--port", String.valueOf(LocalCluster.freePort()), "--command", launcher.toString());
        assertEquals(64, r.exitCode(), r::toString);
        assertTrue(r.err().contains("no restore point named 'no_such_point'"), r::toString);
        assertFalse(Files.exists(data), "nothing written");
    }

    @Test
    void aFailedRestoreIsRetriedWithForceCleanAndItsMarkGoesOnSuccess() throws Exception {
        // a restore point made with plain SQL, not recorded by chrono-dr: found in the WAL
        pg.execute(DB, "INSERT INTO orders (batch) SELECT 2 FROM generate_series(1, 3)");
        pg.execute(DB, "SELECT pg_create_restore_point('after_batch_2')");
        pg.execute(DB, "INSERT INTO orders (batch) SELECT 3 FROM generate_series(1, 3)");
        assertEquals(0, cli("backup", "--type", "incremental", "--repo", repo.toString()).exitCode());

        Path base = Files.createDirectories(tmp.resolve("retry"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        Path data = base.resolve("data");
        int port = LocalCluster.freePort();
        // restore_command that works when the restore checks it before writing, then finds nothing (the repository's
        // mount gone mid-recovery): recovery ends before the target, after the files were written
        Path flaky = tmp.resolve("flaky-launcher");
        Files.writeString(flaky, "#!/bin/sh\ncase \"$*\" in *chrono-dr-fetch-check-*) exec '" + launcher + "' \"$@\" ;; esac\nexit 1\n");
        Files.setPosixFilePermissions(flaky, PosixFilePermissions.fromString("rwxr-xr-x"));
        CliRun failed = cli("pitr", "restore", "--repo", repo.toString(), "--target-name", "after_batch_2", "--data-dir", data.toString(),
                "--port", String.valueOf(port), "--command", flaky.toString(), "--timeout", "120");
        restored.add(LocalCluster.open(base, bin, port, password, runner));
        assertEquals(1, failed.exitCode(), failed::toString);
        assertTrue(PitrRestoreService.hasFiles(data), "the failed restore left its files");
        assertTrue(RestoreMark.read(data).isPresent(), "marked as chrono-dr's");
        assertTrue(failed.err().contains("--force-clean"), "the failure says how to retry: " + failed);

        CliRun refused = cli("pitr", "restore", "--repo", repo.toString(), "--target-name", "after_batch_2", "--data-dir", data.toString(),
                "--port", String.valueOf(port), "--command", launcher.toString(), "--timeout", "120");
        assertEquals(64, refused.exitCode(), refused::toString);
        assertTrue(refused.err().contains("add --force-clean"), refused::toString);

        CliRun retried = cli("restore", "--repo", repo.toString(), "--target-name", "after_batch_2", "--data-dir", data.toString(),
                "-p", String.valueOf(port), "--command", launcher.toString(), "--timeout", "120", "--force-clean");
        assertEquals(0, retried.exitCode(), retried::toString);
        List<Integer> batches = new ArrayList<>();
        try (Connection c = Database.connect(LocalCluster.open(base, bin, port, password, runner).connection(DB));
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT batch FROM orders ORDER BY id")) {
            while (rs.next()) {
                batches.add(rs.getInt(1));
            }
        }
        assertEquals(List.of(1, 1, 1, 2, 2, 2), batches);
        assertFalse(Files.exists(data.resolve(RestoreMark.FILE)), "the recovered cluster is no longer marked");
        restored.get(restored.size() - 1).stop();

        // so a later --force-clean never deletes a cluster that was restored
        CliRun again = cli("pitr", "restore", "--repo", repo.toString(), "--target-immediate", "--data-dir", data.toString(),
                "--port", String.valueOf(port), "--command", launcher.toString(), "--force-clean");
        assertEquals(1, again.exitCode(), again::toString);
        assertTrue(again.err().contains("holds no " + RestoreMark.FILE + " mark"), again::toString);
        assertTrue(Files.isRegularFile(data.resolve("PG_VERSION")), "the recovered cluster is untouched");
    }

    @Test
    void aDamagedNewestBaseBackupIsPassedOverForTheOneBeforeIt() throws Exception {
        CliRun second = cli("backup", "--type", "physical", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, second.exitCode(), second::toString);
        Path damaged = Path.of(second.json().get("location").asText());
        try {
            Path tar;
            try (var files = Files.list(damaged)) {
                tar = files.filter(f -> f.getFileName().toString().startsWith("base.tar")).findFirst().orElseThrow();
            }
            byte[] bytes = Files.readAllBytes(tar);
            bytes[bytes.length / 2] ^= 0x01; // same size: only a checksum check can tell
            Files.write(tar, bytes);

            Path base = Files.createDirectories(tmp.resolve("damaged-newest"));
            Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
            Path data = base.resolve("data");
            int port = LocalCluster.freePort();
            CliRun r = cli("pitr", "restore", "--repo", repo.toString(), "--target-immediate", "--data-dir", data.toString(),
                    "--port", String.valueOf(port), "--command", launcher.toString(), "--timeout", "120");
            restored.add(LocalCluster.open(base, bin, port, password, runner));
            assertEquals(0, r.exitCode(), r::toString);
            assertTrue(r.out().contains("passed over base backup " + damaged.getFileName()), r::toString);
            assertFalse(r.out().contains("base backup:   " + damaged.getFileName()), "the damaged one was not restored: " + r);
            restored.get(restored.size() - 1).stop();

            CliRun list = cli("list", "--repo", repo.toString(), "--format", "json");
            boolean recorded = false;
            for (var b : list.json().get("backups")) {
                recorded |= b.get("id").asText().equals(damaged.getFileName().toString()) && b.get("state").asText().equals("damaged");
            }
            assertTrue(recorded, "the failed check is remembered: " + list);
        } finally {
            dev.chronodr.repo.Repository.deleteQuietly(damaged); // the other tests restore from the first base backup
        }
    }

    @Test
    void aDataDirectoryOnAFilesystemTooSmallIsRefusedBeforeAnythingIsWritten() throws Exception {
        Path tiny = Files.createDirectories(tmp.resolve("tiny"));
        ProcessRunner r0 = new ProcessRunner(Map.copyOf(System.getenv()));
        var mounted = r0.execute(dev.chronodr.process.ProcessSpec.of("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", tiny.toString()));
        Assumptions.assumeTrue(mounted.succeeded(), "needs root to mount a small tmpfs: " + mounted.stderrTail());
        try {
            Path data = tiny.resolve("data");
            CliRun r = cli("pitr", "restore", "--repo", repo.toString(), "--target-immediate", "--data-dir", data.toString(),
                    "--port", String.valueOf(LocalCluster.freePort()), "--command", launcher.toString());
            assertEquals(1, r.exitCode(), r::toString);
            assertTrue(r.err().contains("needs about") && r.err().contains("MiB free; nothing was written"), r::toString);
            assertFalse(Files.exists(data), "nothing written");
        } finally {
            r0.execute(dev.chronodr.process.ProcessSpec.of("umount", tiny.toString()));
        }
    }

    @Test
    void forceCleanDeletesNothingInADirectoryChronoDrDidNotWrite() throws Exception {
        Path foreign = Files.createDirectories(tmp.resolve("foreign/data"));
        Files.writeString(foreign.resolve("precious.txt"), "keep me");
        CliRun r = cli("pitr", "restore", "--repo", repo.toString(), "--target-immediate", "--data-dir", foreign.toString(),
                "--port", String.valueOf(LocalCluster.freePort()), "--command", launcher.toString(), "--force-clean");
        assertEquals(1, r.exitCode(), r::toString);
        assertTrue(r.err().contains("chrono-dr did not write it"), r::toString);
        assertEquals("keep me", Files.readString(foreign.resolve("precious.txt")));

        // a mark copied from another directory does not count
        Path other = Files.createDirectories(tmp.resolve("foreign/other"));
        RestoreMark.write(other, RestoreMark.newId());
        Files.copy(other.resolve(RestoreMark.FILE), foreign.resolve(RestoreMark.FILE));
        CliRun copied = cli("pitr", "restore", "--repo", repo.toString(), "--target-immediate", "--data-dir", foreign.toString(),
                "--port", String.valueOf(LocalCluster.freePort()), "--command", launcher.toString(), "--force-clean");
        assertEquals(1, copied.exitCode(), copied::toString);
        assertEquals("keep me", Files.readString(foreign.resolve("precious.txt")));
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
