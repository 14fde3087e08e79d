package dev.chronodr.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;

/**
 * The archive_command {@code pitr setup} writes ({@link ArchiveCommand#pushHandedOff}), run as the server runs it
 * (/bin/sh -c in the data directory, %f, %p and %% replaced), beside {@link ArchiveAhead} on a data directory of
 * files: a segment the look-ahead stored is answered by the shell with no JVM; an acknowledgement of another file,
 * of another repository, a refusal, a stale heartbeat or none at all runs wal-push (here a launcher that only
 * records it ran). The look-ahead stores only what the server marked ready and only while the server asks, refuses
 * in the open, and forgets acknowledgements the server no longer needs.
 */
class ArchiveAheadTest {
    private static final int SIZE = 1 << 20;
    private static final String NAME = "000000010000000000000007";
    private static final ArchiveAhead.Counts COUNTS = new ArchiveAhead.Counts() {
        @Override
        public void stored(WalPushResult r) {
        }

        @Override
        public void refused() {
        }
    };

    @TempDir
    Path tmp;

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final ExecutorService pool = Executors.newFixedThreadPool(2);
    private final List<ArchiveAhead> started = new ArrayList<>();
    private final List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void stop() {
        started.forEach(ArchiveAhead::stop);
        timer.shutdownNow();
        pool.shutdownNow();
    }

    private Path data() {
        return tmp.resolve("da ta");
    }

    private Path acks() {
        return data().resolve(ArchiveAhead.DIR_NAME).resolve(ArchiveAhead.key(new Repository(repo()).location()));
    }

    /** A quote, a percent sign and a placeholder-like word: each must reach the shell as it is. */
    private Path repo() {
        return tmp.resolve("re'p%o @J@");
    }

    /** A data directory with one segment marked ready. */
    private Path segment(String name, long seed) throws IOException {
        Files.createDirectories(data().resolve("pg_wal/archive_status"));
        Files.writeString(data().resolve("PG_VERSION"), "15\n");
        byte[] b = new byte[SIZE];
        new Random(seed).nextBytes(b);
        Path f = data().resolve("pg_wal").resolve(name);
        Files.write(f, b);
        Files.createFile(data().resolve("pg_wal/archive_status/" + name + ".ready"));
        return f;
    }

    private ArchiveAhead start(Function<Path, WalPushResult> store) {
        ArchiveAhead a = ArchiveAhead.start(data(), new Repository(repo()).location(), store, COUNTS, log::add, 2, pool, timer).orElseThrow();
        started.add(a);
        return a;
    }

    private void asked() throws IOException {
        Files.writeString(acks().resolve(ArchiveAhead.ASKED), NAME + "\n");
    }

    private static void await(java.util.function.BooleanSupplier done, String what) throws InterruptedException {
        for (int i = 0; i < 1000 && !done.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(done.getAsBoolean(), what);
    }

    /** A launcher that records that wal-push would have run, and fails as a refusing wal-push would. */
    private Path launcher() throws IOException {
        Path script = tmp.resolve("chrono-dr");
        Files.writeString(script, "#!/bin/sh\necho \"$*\" >> '" + tmp.resolve("jvm-starts") + "'\nexit 7\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private record Ran(int exitCode, long millis, List<String> jvm) {
    }

    /** What the server does with archive_command: %f, %p and %% replaced, /bin/sh -c in the data directory. */
    private Ran archiveCommand(String repoArg, String name, String p) throws Exception {
        String command = ArchiveCommand.pushHandedOff(List.of(launcher().toString()), repoArg);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < command.length(); i++) {
            char c = command.charAt(i);
            if (c == '%' && i + 1 < command.length()) {
                char n = command.charAt(++i);
                b.append(n == 'f' ? name : n == 'p' ? p : n == '%' ? "%" : "%" + n);
            } else {
                b.append(c);
            }
        }
        Files.deleteIfExists(tmp.resolve("jvm-starts"));
        long t0 = System.nanoTime();
        Process proc = new ProcessBuilder("/bin/sh", "-c", b.toString()).directory(data().toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(proc.waitFor(60, TimeUnit.SECONDS), "archive_command returned");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        Path starts = tmp.resolve("jvm-starts");
        return new Ran(proc.exitValue(), ms, Files.exists(starts) ? Files.readAllLines(starts) : List.of());
    }

    private Ran archiveCommand(String name) throws Exception {
        return archiveCommand(repo().toString(), name, "pg_wal/" + name);
    }

    @Test
    void theIdentityIsWhatStatPrints() throws Exception {
        Path f = segment(NAME, 1);
        Files.setLastModifiedTime(f, FileTime.from(Instant.ofEpochSecond(1_700_000_000L, 123_456_789L)));
        Process p = new ProcessBuilder("stat", "-c", "%d %i %s %.9Y", f.toString()).start();
        String stat = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertEquals(stat, ArchiveAhead.identity(f));
        assertTrue(stat.endsWith(" " + SIZE + " 1700000000.123456789"), stat);
    }

    @Test
    void aSegmentStoredAheadIsAnsweredByTheShellAndForgottenOnceTheServerIsDone() throws Exception {
        Path f = segment(NAME, 2);
        start(s -> WalService.push(new Repository(repo()), s));
        asked();
        await(() -> Files.exists(acks().resolve(NAME)), "acknowledged: " + log);
        // stored as wal-push stores it: the archive hands back exactly these bytes
        Path back = tmp.resolve("back");
        WalService.fetch(repo(), NAME, back, null);
        assertEquals(-1, Files.mismatch(f, back));

        Ran r = archiveCommand(NAME);
        assertEquals(0, r.exitCode());
        assertEquals(List.of(), r.jvm(), "answered by the shell");
        assertEquals(NAME, Files.readString(acks().resolve(ArchiveAhead.ASKED)).strip(), "the shell says the server asks");

        // the server marks it done: the acknowledgement goes
        Files.move(data().resolve("pg_wal/archive_status/" + NAME + ".ready"), data().resolve("pg_wal/archive_status/" + NAME + ".done"));
        await(() -> !Files.exists(acks().resolve(NAME)), "forgotten");
    }

    @Test
    void anAcknowledgementOfAnotherFileOrRepositoryIsNotTaken() throws Exception {
        Path f = segment(NAME, 3);
        Files.createDirectories(acks());
        Files.writeString(acks().resolve(ArchiveAhead.ALIVE), "x\n");
        String id = ArchiveAhead.identity(f);
        String here = new Repository(repo()).location();

        Files.writeString(acks().resolve(NAME), id + " " + here + "\n");
        assertEquals(0, archiveCommand(NAME).exitCode(), "the right line, with a quote and a space in the paths");

        Files.writeString(acks().resolve(NAME), id + " " + tmp.resolve("other") + "\n");
        Ran other = archiveCommand(NAME);
        assertEquals(7, other.exitCode(), "another repository's acknowledgement: wal-push runs");
        assertEquals(1, other.jvm().size());

        Files.writeString(acks().resolve(NAME), id + " " + here + "\n");
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().plusSeconds(1))); // another file under the name (a recycled one)
        assertEquals(7, archiveCommand(NAME).exitCode(), "an acknowledgement of another file: wal-push runs");

        Files.writeString(acks().resolve(NAME), ArchiveAhead.identity(f) + " " + here + "\n");
        assertEquals(7, archiveCommand(repo().toString(), NAME, data().resolve("pg_wal").resolve(NAME).toString()).exitCode(),
                "a %p that is not pg_wal/%f: wal-push runs");
        Path history = data().resolve("pg_wal/00000002.history");
        Files.writeString(history, "1\t0/3000000\tno recovery target specified\n");
        Files.writeString(acks().resolve("00000002.history"), ArchiveAhead.identity(history) + " " + here + "\n");
        assertEquals(7, archiveCommand("00000002.history").exitCode(), "only segments are answered by the shell");
    }

    @Test
    void aRefusalAStaleHeartbeatOrNoDaemonRunWalPushAtOnce() throws Exception {
        segment(NAME, 4);
        Files.createDirectories(acks());
        Path alive = acks().resolve(ArchiveAhead.ALIVE);

        assertEquals(7, archiveCommand(NAME).exitCode(), "no daemon: wal-push");

        Files.writeString(alive, "x\n");
        Files.writeString(acks().resolve(NAME + ArchiveAhead.REFUSED), "wal-push: refused\n");
        Ran refused = archiveCommand(NAME);
        assertEquals(7, refused.exitCode(), "a refusal: wal-push says why");
        assertTrue(refused.millis() < 5000, refused.millis() + " ms");
        Files.delete(acks().resolve(NAME + ArchiveAhead.REFUSED));

        Files.setLastModifiedTime(alive, FileTime.from(Instant.now().minusSeconds(30)));
        Ran stale = archiveCommand(NAME);
        assertEquals(7, stale.exitCode(), "a daemon killed without a word: wal-push");
        assertTrue(stale.millis() < 5000, stale.millis() + " ms");
    }

    @Test
    void theShellWaitsForTheAcknowledgementWhileTheDaemonIsAtWork() throws Exception {
        segment(NAME, 5);
        // a store that takes a while: the shell, already waiting, takes the acknowledgement when it comes
        start(s -> {
            sleep(1500);
            return WalService.push(new Repository(repo()), s);
        });
        Ran r = archiveCommand(NAME); // writes .asked: the look-ahead starts
        assertEquals(0, r.exitCode(), log::toString);
        assertEquals(List.of(), r.jvm());
        assertTrue(r.millis() >= 1400, r.millis() + " ms");
        assertTrue(new WalArchive(new Repository(repo())).contains(NAME));
    }

    @Test
    void nothingIsStoredAheadWhileTheServerDoesNotAsk() throws Exception {
        segment(NAME, 6);
        start(s -> WalService.push(new Repository(repo()), s));
        Thread.sleep(300);
        assertFalse(new WalArchive(new Repository(repo())).contains(NAME), "never asked (archive_command is a plain wal-push)");
        // asked long ago: archive_command was set to '' since
        Path old = acks().resolve(".old");
        Files.writeString(old, NAME + "\n");
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minusSeconds(60)));
        Files.move(old, acks().resolve(ArchiveAhead.ASKED));
        Thread.sleep(300);
        assertFalse(Files.exists(acks().resolve(NAME)));
        assertFalse(new WalArchive(new Repository(repo())).contains(NAME), "a paused archive_command pauses the look-ahead");
        asked();
        await(() -> Files.exists(acks().resolve(NAME)), "the server asks again: stored");
    }

    @Test
    void anotherRepositorysDaemonIsNeitherWaitedForNorAsked() throws Exception {
        segment(NAME, 11);
        Path other = tmp.resolve("other-repo");
        ArchiveAhead theirs = ArchiveAhead.start(data(), new Repository(other).location(), s -> WalService.push(new Repository(other), s),
                COUNTS, log::add, 2, pool, timer).orElseThrow();
        started.add(theirs);
        // this repository's shell: no daemon of its own, so wal-push at once, and the other daemon is not asked
        Ran r = archiveCommand(NAME);
        assertEquals(7, r.exitCode());
        assertTrue(r.millis() < 5000, r.millis() + " ms");
        Thread.sleep(300);
        assertFalse(new WalArchive(new Repository(other)).contains(NAME), "stored nothing into the repository archive_command left");
    }

    @Test
    void aRefusedSegmentIsMarkedWithTheReasonAndTheArchiveKeepsItsOwn() throws Exception {
        segment(NAME, 7);
        Path other = tmp.resolve("other/" + NAME);
        Files.createDirectories(other.getParent());
        Files.write(other, new byte[SIZE]); // a different segment already archived under this name
        WalService.push(new Repository(repo()), other);
        start(s -> WalService.push(new Repository(repo()), s));
        asked();
        await(() -> Files.exists(acks().resolve(NAME + ArchiveAhead.REFUSED)), "refused: " + log);
        assertFalse(Files.exists(acks().resolve(NAME)));
        assertTrue(Files.readString(acks().resolve(NAME + ArchiveAhead.REFUSED)).contains(NAME));
        Path back = tmp.resolve("back");
        WalService.fetch(repo(), NAME, back, null);
        assertEquals(-1, Files.mismatch(other, back), "never overwritten");
        assertEquals(7, archiveCommand(NAME).exitCode(), "the shell runs wal-push, which says why");
    }

    @Test
    void anAcknowledgementThatCannotBeWrittenStopsTheLookAheadSoTheShellDoesNotWait() throws Exception {
        segment(NAME, 10);
        Files.createDirectories(acks());
        start(s -> WalService.push(new Repository(repo()), s));
        Files.createDirectory(acks().resolve("." + NAME + ".tmp")); // where the acknowledgement is written first: unwritable
        asked();
        await(() -> !Files.exists(acks().resolve(ArchiveAhead.ALIVE)), "the heartbeat goes: " + log);
        assertTrue(log.stream().anyMatch(l -> l.contains("no longer storing ahead")), log::toString);
        Ran r = archiveCommand(NAME);
        assertEquals(7, r.exitCode());
        assertTrue(r.millis() < 5000, r.millis() + " ms");
    }

    @Test
    void aCleanStopRemovesTheDirectorySoTheShellRunsWalPush() throws Exception {
        segment(NAME, 8);
        ArchiveAhead a = start(s -> WalService.push(new Repository(repo()), s));
        asked();
        await(() -> Files.exists(acks().resolve(NAME)), "acknowledged");
        a.stop();
        started.remove(a);
        assertFalse(Files.exists(acks()));
        assertEquals(7, archiveCommand(NAME).exitCode());
    }

    @Test
    void anAcknowledgementDirectoryThatIsASymlinkIsRefused() throws Exception {
        segment(NAME, 9);
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        Files.createDirectories(acks().getParent());
        Files.createSymbolicLink(acks(), elsewhere);
        Optional<ArchiveAhead> a = ArchiveAhead.start(data(), new Repository(repo()).location(), s -> {
            throw ChronoException.failed("not called", null);
        }, COUNTS, log::add, 2, pool, timer);
        assertTrue(a.isEmpty());
        assertTrue(log.stream().anyMatch(l -> l.contains("symbolic link")), log::toString);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
