package dev.chronodr.wal;

import static dev.chronodr.wal.ArchivingCluster.give;
import static dev.chronodr.wal.ArchivingCluster.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
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
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.ServerLauncher;

/**
 * A real server whose archive_command is the one {@code pitr setup} writes ({@link ArchiveCommand#pushHandedOff}),
 * beside a wal-archiver run as postgres: after the first segment (handed over by a JVM, which tells the daemon where
 * the server is), the daemon stores the ready segments ahead and the shell answers for them with no JVM start (the
 * launcher counts its starts). Killed with SIGKILL, the shell notices the stale heartbeat and wal-push stores the
 * segments itself. A segment whose name the archive already holds with other content is refused: the archive keeps
 * its own, the server is told (failed_count), and archiving goes on once the conflict is gone. Nothing the server
 * counts as archived is missing or different in the archive.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArchiveAheadClusterTest {
    private static final String DB = "app";
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final Secret password = Secret.of("ahead-" + System.nanoTime());
    private final List<Process> daemons = new ArrayList<>();
    private Path tmp;
    private Path repo;
    private Path launcher;
    private Path starts;
    private LocalCluster pg;

    @BeforeAll
    void start() throws Exception {
        Optional<Path> b = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(b.isPresent(), "needs local PostgreSQL server binaries");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "runs the daemon as postgres, as the server runs wal-push");
        tmp = Files.createTempDirectory("chrono-dr-ahead-test-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        launcher = ServerLauncher.write(tmp);
        starts = tmp.resolve("jvm-starts");
        Files.createFile(starts);
        Files.setPosixFilePermissions(starts, PosixFilePermissions.fromString("rw-rw-rw-"));
        Path counting = tmp.resolve("counting-chrono-dr");
        Files.writeString(counting, "#!/bin/sh\necho \"$*\" >> '" + starts + "'\nexec '" + launcher + "' \"$@\"\n");
        Files.setPosixFilePermissions(counting, PosixFilePermissions.fromString("rwxr-xr-x"));
        repo = Files.createDirectories(tmp.resolve("repo"));
        Files.createDirectories(repo.resolve("wal"));
        give(repo);
        give(repo.resolve("wal"));
        pg = LocalCluster.create(tmp.resolve("pg"), b.get(), password, LocalCluster.Options.defaults()
                .withSetting("archive_mode", "on")
                .withSetting("archive_command", "'" + ArchiveCommand.pushHandedOff(List.of(counting.toString()), repo.toString()) + "'")
                .withSetting("wal_level", "replica"), runner);
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE t (id bigserial PRIMARY KEY, pad text NOT NULL)");
    }

    @AfterAll
    void stop() throws Exception {
        ArchivingCluster.tearDown(daemons, tmp, pg);
    }

    private Process daemon(Path log) throws Exception {
        return ArchivingCluster.daemon(launcher, repo, log, daemons);
    }

    private String writeAndSwitch() {
        return ArchivingCluster.writeAndSwitch(pg, DB);
    }

    private Object archiver(String column) {
        return ArchivingCluster.archiver(pg, column);
    }

    private void awaitArchived(String segment) throws InterruptedException {
        ArchivingCluster.awaitArchived(pg, segment);
    }

    /** The segment names the launcher was started for since the last call. */
    private List<String> jvmStartsFor() throws IOException {
        List<String> names = Files.readAllLines(starts).stream().map(l -> l.substring(l.lastIndexOf('/') + 1)).toList();
        Files.writeString(starts, "");
        return names;
    }

    @Test
    void segmentsStoredAheadAreAnsweredByTheShellAndNoneIsLostWhenTheDaemonDiesOrRefuses() throws Exception {
        jvmStartsFor();
        Path log1 = tmp.resolve("daemon1.log");
        Process d1 = daemon(log1);
        String first = writeAndSwitch();
        awaitArchived(first);
        assertEquals(List.of(first), jvmStartsFor(), "the first segment tells the daemon where the server is");
        assertTrue(read(log1).contains("storing ahead the segments " + pg.dataDir()), read(log1));

        List<String> ahead = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ahead.add(writeAndSwitch());
        }
        awaitArchived(ahead.get(4));
        assertEquals(List.of(), jvmStartsFor(), "answered by the shell");
        for (String s : ahead) {
            assertTrue(read(log1).contains("wal-archiver: " + s + " archived ahead"), s + "\n" + read(log1));
        }

        // SIGKILL: the heartbeat goes stale and wal-push stores the segments itself
        d1.descendants().forEach(ProcessHandle::destroyForcibly);
        assertTrue(d1.waitFor(30, TimeUnit.SECONDS));
        List<String> afterKill = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            afterKill.add(writeAndSwitch());
        }
        awaitArchived(afterKill.get(2));
        assertEquals(afterKill, jvmStartsFor());

        // a new daemon; then a segment whose name the archive already holds with other content
        Path log2 = tmp.resolve("daemon2.log");
        Process d2 = daemon(log2);
        String relearn = writeAndSwitch();
        awaitArchived(relearn);
        // the segment after it (16 MB segments: 256 to a log file)
        long no = Long.parseLong(relearn.substring(8, 16), 16) * 256 + Long.parseLong(relearn.substring(16), 16) + 1;
        String next = relearn.substring(0, 8) + String.format("%08X%08X", no / 256, no % 256);
        Path impostor = Files.createDirectories(tmp.resolve("impostor")).resolve(next);
        Files.write(impostor, new byte[16 << 20]);
        WalService.push(new Repository(repo), impostor);
        Path timeline = new WalArchive(repo).root().resolve(next.substring(0, 8));
        try (var ls = Files.list(timeline)) {
            for (Path f : ls.filter(f -> f.getFileName().toString().startsWith(next)).toList()) {
                give(f); // as if the server's own wal-push had stored it
            }
        }
        long failedBefore = ((Number) archiver("failed_count")).longValue();
        assertEquals(next, writeAndSwitch());
        for (int i = 0; i < 600 && ((Number) archiver("failed_count")).longValue() == failedBefore; i++) {
            Thread.sleep(50);
        }
        assertTrue(((Number) archiver("failed_count")).longValue() > failedBefore, "the server is told");
        assertTrue(read(log2).contains(next + " is already archived"), read(log2));
        Path back = tmp.resolve("back");
        WalService.fetch(repo, next, back, null);
        assertEquals(-1, Files.mismatch(impostor, back), "the archive keeps its own");
        // the conflict resolved by hand: the next attempt stores the server's segment
        try (var ls = Files.list(timeline)) {
            for (Path f : ls.filter(f -> f.getFileName().toString().startsWith(next)).toList()) {
                Files.delete(f);
            }
        }
        String later = writeAndSwitch(); // wakes the archiver
        awaitArchived(later);

        // SIGTERM: exit 0, the acknowledgements gone with the daemon
        d2.descendants().forEach(ProcessHandle::destroy);
        assertTrue(d2.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, d2.exitValue(), read(log2));
        assertFalse(Files.exists(pg.dataDir().resolve(ArchiveAhead.DIR_NAME)));
        assertTrue(java.util.regex.Pattern.compile("already archived, [1-9][0-9]* refused or failed").matcher(read(log2)).find(),
                "the refusal is counted: " + read(log2));

        // everything the server counts as archived is stored, with no gap, and is the server's own segment
        List<String> names = new WalArchive(repo).list().stream().filter(WalArchive.Entry::isSegment).map(WalArchive.Entry::name).toList();
        Set<String> done = new TreeSet<>();
        try (var ls = Files.list(pg.dataDir().resolve("pg_wal/archive_status"))) {
            ls.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".done")).forEach(f -> done.add(f.substring(0, f.length() - 5)));
        }
        done.removeIf(f -> !WalArchive.isSegmentName(f));
        assertTrue(names.containsAll(done), "reported archived but not stored: " + done + " vs " + names);
        for (int i = 1; i < names.size(); i++) {
            assertEquals(Long.parseLong(names.get(i - 1).substring(16), 16) + 1, Long.parseLong(names.get(i).substring(16), 16), names::toString);
        }
        for (String s : done) {
            Path inWal = pg.dataDir().resolve("pg_wal").resolve(s);
            if (Files.exists(inWal)) {
                Path copy = tmp.resolve("copy-" + s);
                WalService.fetch(repo, s, copy, null);
                assertEquals(-1, Files.mismatch(inWal, copy), s);
            }
        }
    }
}
