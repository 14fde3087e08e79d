package dev.chronodr.wal;

import static dev.chronodr.wal.ArchivingCluster.give;
import static dev.chronodr.wal.ArchivingCluster.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.ServerLauncher;

/**
 * A real server whose archive_command is wal-push, with a wal-archiver (run as postgres, as in
 * production) taking the segments: they are stored by the daemon; killed with SIGKILL in the
 * middle of a run, wal-push stores them itself and none is lost or reported archived without
 * being stored; a second daemon on the repository is refused; SIGTERM stops one cleanly; and a
 * point-in-time restore from that archive (wal-fetch with its look-ahead) brings back every row.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArchiverClusterTest {
    private static final String DB = "app";
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final Secret password = Secret.of("archiver-" + System.nanoTime());
    private final List<Process> daemons = new ArrayList<>();
    private Path tmp;
    private Path repo;
    private Path launcher;
    private Path bin;
    private LocalCluster pg;
    private LocalCluster restored;

    @BeforeAll
    void start() throws Exception {
        Optional<Path> b = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(b.isPresent(), "needs local PostgreSQL server binaries");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "runs the daemon as postgres, as the server runs wal-push");
        bin = b.get();
        tmp = Files.createTempDirectory("chrono-dr-archiver-test-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        launcher = ServerLauncher.write(tmp);
        repo = Files.createDirectories(tmp.resolve("repo"));
        Files.createDirectories(repo.resolve("wal"));
        give(repo);
        give(repo.resolve("wal"));
        pg = LocalCluster.create(tmp.resolve("pg"), bin, password, LocalCluster.Options.defaults()
                .withSetting("archive_mode", "on")
                .withSetting("archive_command", "'" + ArchiveCommand.push(List.of(launcher.toString()), repo).replace("'", "''") + "'")
                .withSetting("wal_level", "replica"), runner);
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE t (id bigserial PRIMARY KEY, pad text NOT NULL)");
    }

    @AfterAll
    void stop() throws Exception {
        ArchivingCluster.tearDown(daemons, tmp, restored, pg);
    }

    private Map<String, String> env() {
        return PgCluster.wrap(pg).env(DB);
    }

    private Process daemon(Path log) throws Exception {
        return ArchivingCluster.daemon(launcher, repo, log, daemons);
    }

    private String writeAndSwitch() {
        return ArchivingCluster.writeAndSwitch(pg, DB);
    }

    private void awaitArchived(String segment) throws InterruptedException {
        ArchivingCluster.awaitArchived(pg, segment);
    }

    @Test
    void theDaemonArchivesKilledItFallsBackAndThePointInTimeRestoreGetsEveryRow() throws Exception {
        Path log1 = tmp.resolve("daemon1.log");
        Process d1 = daemon(log1);
        CliRun base = CliRun.run(env(), tmp, "backup", "--type", "physical", "--repo", repo.toString());
        assertEquals(0, base.exitCode(), base::toString);
        List<String> byDaemon = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byDaemon.add(writeAndSwitch());
        }
        awaitArchived(byDaemon.get(2));
        for (String s : byDaemon) {
            assertTrue(read(log1).contains("wal-archiver: " + s + " archived"), "stored by the daemon: " + s + "\n" + read(log1));
        }

        // SIGKILL in the middle of a run: the stale socket stays; wal-push stores the rest itself
        List<String> around = new ArrayList<>();
        around.add(writeAndSwitch());
        d1.descendants().forEach(ProcessHandle::destroyForcibly); // the JVM under runuser
        assertTrue(d1.waitFor(30, TimeUnit.SECONDS));
        assertTrue(Files.exists(repo.resolve("wal/.archiver.sock"), java.nio.file.LinkOption.NOFOLLOW_LINKS), "a killed daemon leaves its socket");
        for (int i = 0; i < 3; i++) {
            around.add(writeAndSwitch());
        }
        awaitArchived(around.get(3));
        assertFalse(read(log1).contains(around.get(3)), "stored after the daemon died, by wal-push itself");

        // a new daemon replaces the dead one's socket; a second one is refused
        Path log2 = tmp.resolve("daemon2.log");
        Process d2 = daemon(log2);
        Process second = new ProcessBuilder("runuser", "-u", "postgres", "--", launcher.toString(), "wal-archiver", "--repo", repo.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("daemon3.log").toFile()).start();
        daemons.add(second);
        assertTrue(second.waitFor(60, TimeUnit.SECONDS));
        assertEquals(64, second.exitValue(), read(tmp.resolve("daemon3.log")));
        assertTrue(read(tmp.resolve("daemon3.log")).contains("another wal-archiver already serves"), read(tmp.resolve("daemon3.log")));
        String after = writeAndSwitch();
        awaitArchived(after);
        assertTrue(read(log2).contains("wal-archiver: " + after + " archived"), read(log2));

        // SIGTERM: exit 0, the socket gone
        d2.descendants().forEach(ProcessHandle::destroy);
        assertTrue(d2.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, d2.exitValue(), read(log2));
        assertFalse(Files.exists(repo.resolve("wal/.archiver.sock"), java.nio.file.LinkOption.NOFOLLOW_LINKS));

        // everything the server counts as archived is stored, with no gap
        List<String> names = new WalArchive(repo).list().stream().filter(WalArchive.Entry::isSegment).map(WalArchive.Entry::name).toList();
        Set<String> done = new TreeSet<>();
        try (var ls = Files.list(pg.dataDir().resolve("pg_wal/archive_status"))) {
            ls.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".done")).forEach(f -> done.add(f.substring(0, f.length() - 5)));
        }
        done.removeIf(f -> !WalArchive.isSegmentName(f));
        assertTrue(names.containsAll(done), "reported archived but not stored: " + done + " vs " + names);
        assertTrue(names.containsAll(byDaemon) && names.containsAll(around) && names.contains(after), names::toString);
        for (int i = 1; i < names.size(); i++) {
            assertEquals(Long.parseLong(names.get(i - 1).substring(16), 16) + 1, Long.parseLong(names.get(i).substring(16), 16), names::toString);
        }

        long rows = ((Number) PgCluster.wrap(pg).scalar(DB, "SELECT count(*) FROM t")).longValue();
        Path target = Files.createDirectories(tmp.resolve("restored"));
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx--x--x"));
        int port = LocalCluster.freePort();
        CliRun r = CliRun.run(env(), tmp, "restore", "--repo", repo.toString(), "--point-in-time", "latest",
                "--data-dir", target.resolve("data").toString(), "-p", String.valueOf(port), "--command", launcher.toString(),
                "--timeout", "180", "--format", "json");
        restored = LocalCluster.open(target, bin, port, password, runner);
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(rows, ((Number) PgCluster.wrap(restored).scalar(DB, "SELECT count(*) FROM t")).longValue());
        assertTrue(Files.exists(target.resolve("data/.chrono-dr-fetch-ahead/prefetch.log")), "the replay fetched ahead");
    }
}
