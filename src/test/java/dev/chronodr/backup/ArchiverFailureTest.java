package dev.chronodr.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.core.Terminal;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.Repository;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.testing.CliRun;

/**
 * A physical backup waits for the segment holding its end to be archived: it shows what it
 * waits for, and when the archiver fails (here archive_command is `false`) it gives up
 * within seconds, quoting the archiver's last failure, and keeps nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArchiverFailureTest {
    private static final String SEG = "000000010000000000000005";
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private Path tmp;
    private Path repo;
    private LocalCluster pg;

    @BeforeAll
    void start() throws Exception {
        Optional<Path> bin = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(bin.isPresent(), "needs local PostgreSQL server binaries");
        tmp = Files.createTempDirectory("chrono-dr-archiver-");
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        repo = tmp.resolve("repo");
        pg = LocalCluster.create(tmp.resolve("pg"), bin.get(), Secret.of("arch-" + System.nanoTime()), LocalCluster.Options.defaults()
                .withSetting("archive_mode", "on")
                .withSetting("archive_command", "'false'")
                .withSetting("wal_level", "replica"), runner);
        pg.start();
    }

    @AfterAll
    void stop() {
        if (pg != null) {
            pg.remove();
        }
        Repository.deleteQuietly(tmp);
    }

    @Test
    void aFailingArchiverFailsTheBackupWithinSecondsAndNothingIsKept() {
        long t0 = System.nanoTime();
        CliRun r = cli(Terminal.none(), "backup", "--type", "physical", "--repo", repo.toString());
        long seconds = Duration.ofNanos(System.nanoTime() - t0).toSeconds();
        assertEquals(1, r.exitCode(), r::toString);
        assertTrue(seconds < 30, "gave up after " + seconds + " s, not at the 5-minute limit");
        assertTrue(r.err().contains("archiver is failing") && r.err().matches("(?s).*last on [0-9A-F]{24}.* at \\d{4}-.*"), r::toString);
        assertTrue(r.err().contains("the backup is not kept"), r::toString);
        CliRun list = cli(Terminal.none(), "list", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, list.json().get("backups").size(), list::toString);
    }

    @Test
    void theWaitShowsTheSegmentAndTheArchiversState() {
        // A wide terminal: on an 80-column one the line is cut to fit, and the archiver's state follows in a WARN line.
        CliRun r = cli(new Terminal(false, false, true, false, 240), "backup", "--type", "physical", "--repo", repo.toString());
        assertEquals(1, r.exitCode(), r::toString);
        assertTrue(r.err().matches("(?s).*waiting for WAL segment [0-9A-F]{24} to be archived.*archiver.*last failed [0-9A-F]{24}.*"), r::toString);
    }

    @Test
    void whenTheServerItselfWaitsForTheArchiveTheBackupIsStoppedWithinSeconds() throws Exception {
        // one WAL sender: no room to stream the WAL beside the backup, so -X none, and the server waits (with no limit of its own)
        LocalCluster one = LocalCluster.create(tmp.resolve("pg-one-sender"), pg.bin(), Secret.of("one-" + System.nanoTime()),
                LocalCluster.Options.defaults()
                        .withSetting("archive_mode", "on")
                        .withSetting("archive_command", "'false'")
                        .withSetting("max_wal_senders", "1")
                        .withSetting("wal_level", "replica"), runner);
        var pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            one.start();
            Map<String, String> env = new HashMap<>(dev.chronodr.testing.PgCluster.wrap(one).env("postgres"));
            long t0 = System.nanoTime();
            var run = pool.submit(() -> CliRun.run(env, tmp, "backup", "--type", "physical", "--repo", tmp.resolve("repo-none").toString()));
            CliRun r;
            try {
                r = run.get(90, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("the backup still waits after 90 s");
            }
            long seconds = Duration.ofNanos(System.nanoTime() - t0).toSeconds();
            assertEquals(1, r.exitCode(), r::toString);
            assertTrue(seconds < 30, "gave up after " + seconds + " s");
            // "stopped the backup": the server's own wait (-X none) was ended, not chrono-dr's
            assertTrue(r.err().contains("archiver is failing") && r.err().contains("chrono-dr stopped the backup"), r::toString);
            CliRun list = CliRun.run(env, tmp, "list", "--repo", tmp.resolve("repo-none").toString(), "--format", "json");
            assertEquals(0, list.json().get("backups").size(), list::toString);
        } finally {
            one.remove(); // ends a backup left waiting, if any
            pool.shutdownNow();
        }
    }

    @Test
    void oneFailureFollowedByASuccessIsNotAFailingArchiver() {
        OffsetDateTime t = OffsetDateTime.parse("2026-01-01T10:00:00Z");
        ArchiverWatch.State start = new ArchiverWatch.State(10, "000000010000000000000003", t.minusMinutes(1), 2, null, null, t);
        ArchiverWatch.State failing = new ArchiverWatch.State(10, "000000010000000000000003", t.minusMinutes(1), 5,
                "000000010000000000000004", t.plusSeconds(3), t.plusSeconds(4));
        assertTrue(ArchiverWatch.failing(start, failing, SEG).isPresent(), "three failures since the start on an earlier segment");
        ArchiverWatch.State blip = new ArchiverWatch.State(11, "000000010000000000000004", t.plusSeconds(5), 3,
                "000000010000000000000004", t.plusSeconds(3), t.plusSeconds(6));
        assertFalse(ArchiverWatch.failing(start, blip, SEG).isPresent(), "a blip, then a success");
        ArchiverWatch.State recovered = new ArchiverWatch.State(11, "000000010000000000000004", t.plusSeconds(5), 5,
                "000000010000000000000004", t.plusSeconds(3), t.plusSeconds(6));
        assertFalse(ArchiverWatch.failing(start, recovered, SEG).isPresent(), "failed three times, then archived it");
        ArchiverWatch.State later = new ArchiverWatch.State(10, "000000010000000000000005", t.minusMinutes(1), 5,
                "000000010000000000000006", t.plusSeconds(3), t.plusSeconds(4));
        assertFalse(ArchiverWatch.failing(start, later, SEG).isPresent(), "failing on a later segment does not hold this one back");
        ArchiverWatch.State before = new ArchiverWatch.State(10, "000000010000000000000003", t.minusMinutes(1), 5,
                "000000010000000000000004", t.minusSeconds(3), t.plusSeconds(4));
        assertFalse(ArchiverWatch.failing(start, before, SEG).isPresent(), "its last failure is from before the backup");
    }

    private CliRun cli(Terminal terminal, String... args) {
        Map<String, String> env = new HashMap<>(dev.chronodr.testing.PgCluster.wrap(pg).env("postgres"));
        return CliRun.run(env, tmp, "", terminal, args);
    }
}
