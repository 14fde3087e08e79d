package dev.chronodr.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;

/**
 * The restore_command a point-in-time restore writes ({@link ArchiveCommand#fetchSpooled}), run as the server runs
 * it (/bin/sh -c, %f and %p replaced, in the data directory): a spooled segment is handed over by the shell with no
 * JVM (the launcher counts its starts), and only when it is byte for byte the archive's segment of that name. A copy
 * changed after it was verified, one from another repository, one past --until, and whatever a prefetcher killed
 * mid-fetch leaves are never handed over: the server gets the archive's segment from wal-fetch, or nothing.
 */
class SpooledHandOverTest {
    private static final int SIZE = 1 << 20; // as with initdb --wal-segsize=1

    @TempDir
    Path tmp;

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stopStarted() {
        started.forEach(Process::destroyForcibly);
    }

    private static String seg(int i) {
        return String.format("00000001%08X%08X", 0, i);
    }

    private Map<String, String> env() {
        return Map.of("PATH", System.getenv("PATH"));
    }

    private Path data() {
        return tmp.resolve("data");
    }

    private Path spool() {
        return data().resolve(FetchAhead.SPOOL_NAME);
    }

    private Path dest() {
        return data().resolve("pg_wal/RECOVERYXLOG");
    }

    /** This test's chrono-dr, as a launcher script that counts its starts (one line per JVM). */
    private Path launcher() throws IOException {
        Path script = tmp.resolve("chrono-dr");
        if (!Files.exists(script)) {
            String java = ProcessHandle.current().info().command().orElse("java");
            Files.writeString(script, "#!/bin/sh\necho \"$*\" >> '" + tmp.resolve("jvm-starts") + "'\nexec '" + java
                    + "' -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '" + System.getProperty("java.class.path") + "' dev.chronodr.Main \"$@\"\n");
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return script;
    }

    private int jvmStarts() throws IOException {
        Path f = tmp.resolve("jvm-starts");
        return Files.exists(f) ? (int) Files.readAllLines(f).stream().filter(l -> !l.contains("--prefetch")).count() : 0;
    }

    private List<byte[]> archive(Path repo, int count, long seed) throws IOException {
        List<byte[]> segs = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            byte[] b = new byte[SIZE];
            new Random(seed + i).nextBytes(b);
            segs.add(b);
            Path f = tmp.resolve(seg(i));
            Files.write(f, b);
            CliRun p = CliRun.run(env(), tmp, "wal-push", "--repo", repo.toString(), f.toString());
            assertEquals(0, p.exitCode(), p::toString);
            Files.delete(f);
        }
        return segs;
    }

    /** A directory put first in the command's PATH (null: the test's own PATH). */
    private Path pathFirst;

    /** What the server does with restore_command: %f, %p and %% replaced, /bin/sh -c in the data directory. */
    private record Ran(int exitCode, String err) {
    }

    private Ran restoreCommand(String command, String name) throws Exception {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < command.length(); i++) {
            char c = command.charAt(i);
            if (c == '%' && i + 1 < command.length()) {
                char n = command.charAt(++i);
                b.append(n == 'f' ? name : n == 'p' ? "pg_wal/RECOVERYXLOG" : n == '%' ? "%" : "%" + n);
            } else {
                b.append(c);
            }
        }
        Files.deleteIfExists(dest()); // as the server does before it runs the command
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", b.toString()).directory(data().toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        if (pathFirst != null) {
            pb.environment().put("PATH", pathFirst + ":" + System.getenv("PATH"));
        }
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "restore_command returned");
        return new Ran(p.exitValue(), err);
    }

    private void awaitSpooled(String... names) throws InterruptedException {
        for (int i = 0; i < 3000; i++) {
            if (java.util.Arrays.stream(names).allMatch(n -> Files.exists(spool().resolve(n)))) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("not spooled within 30 s: " + List.of(names) + ", log: " + log());
    }

    private String log() {
        try {
            return Files.readString(spool().resolve(FetchAhead.LOG));
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Test
    void theShellHandsOverOnlyTheArchivesOwnSegmentAndNothingPastUntil() throws Exception {
        Path repo = tmp.resolve("repo");
        Path other = tmp.resolve("other-repo");
        Files.createDirectories(data().resolve("pg_wal"));
        List<byte[]> segs = archive(repo, 6, 0);
        List<byte[]> others = archive(other, 6, 1000);
        String command = ArchiveCommand.fetchSpooled(List.of(launcher().toString()), repo.toString(), null, null);
        assertFalse(command.contains("\\"), "postgresql.conf would take a backslash for an escape: " + command);

        // the first call: nothing spooled, wal-fetch runs and starts the resident prefetcher
        Ran first = restoreCommand(command, seg(1));
        assertEquals(0, first.exitCode(), first::toString);
        assertArrayEquals(segs.get(0), Files.readAllBytes(dest()));
        assertEquals(1, jvmStarts());
        awaitSpooled(seg(2), seg(3), seg(4), seg(5), seg(6));

        // 2 and 3 by the shell alone: no JVM, the archive's bytes, moved out of the spool
        for (int i = 2; i <= 3; i++) {
            Ran r = restoreCommand(command, seg(i));
            assertEquals(0, r.exitCode(), r::toString);
            assertEquals("", r.err());
            assertArrayEquals(segs.get(i - 1), Files.readAllBytes(dest()));
            assertFalse(Files.exists(spool().resolve(seg(i))));
        }
        assertEquals(1, jvmStarts(), "segments 2 and 3 were handed over without a JVM");

        // 4 changed in the spool after it was verified: refused, deleted, the archive's copy handed over by wal-fetch
        byte[] tampered = Files.readAllBytes(spool().resolve(seg(4)));
        tampered[SIZE / 2] ^= 1;
        Files.write(spool().resolve(seg(4)), tampered);
        Ran fourth = restoreCommand(command, seg(4));
        assertEquals(0, fourth.exitCode(), fourth::toString);
        assertArrayEquals(segs.get(3), Files.readAllBytes(dest()));
        assertTrue(fourth.err().contains("spooled copy of " + seg(4) + " does not match"), fourth::toString);
        assertEquals(2, jvmStarts());

        // a spool filled from another repository: its segment 5 is not this archive's, so it is not used
        Files.write(spool().resolve(seg(5)), others.get(4));
        Ran fifth = restoreCommand(command, seg(5));
        assertEquals(0, fifth.exitCode(), fifth::toString);
        assertArrayEquals(segs.get(4), Files.readAllBytes(dest()));
        assertTrue(fifth.err().contains("does not match"), fifth::toString);
        // and the other way round: the command for the other repository refuses this archive's spooled 6
        awaitSpooled(seg(6));
        String otherCommand = ArchiveCommand.fetchSpooled(List.of(launcher().toString()), other.toString(), null, null);
        Ran foreign = restoreCommand(otherCommand, seg(6));
        assertEquals(0, foreign.exitCode(), foreign::toString);
        assertArrayEquals(others.get(5), Files.readAllBytes(dest()));

        // --until: the archive's own segment 6, verified in the spool, is still not handed over past it
        Files.write(spool().resolve(seg(6)), segs.get(5));
        String bounded = ArchiveCommand.fetchSpooled(List.of(launcher().toString()), repo.toString(), seg(5), null);
        int before = jvmStarts();
        Ran past = restoreCommand(bounded, seg(6));
        assertEquals(1, past.exitCode(), past::toString);
        assertFalse(Files.exists(dest()), "nothing handed over past --until");
        assertEquals(before + 1, jvmStarts());
        // the same command hands over what is not past it
        Ran within = restoreCommand(bounded, seg(1));
        assertEquals(0, within.exitCode(), within::toString);
        assertArrayEquals(segs.get(0), Files.readAllBytes(dest()));
    }

    @Test
    void aCopyThePrefetcherVouchedForIsHandedOverWithoutHashingItAgainAndOnlyThatCopy() throws Exception {
        Path repo = tmp.resolve("repo");
        Files.createDirectories(data().resolve("pg_wal"));
        List<byte[]> segs = archive(repo, 4, 0);
        String command = ArchiveCommand.fetchSpooled(List.of(launcher().toString()), repo.toString(), null, null);
        Ran first = restoreCommand(command, seg(1));
        assertEquals(0, first.exitCode(), first::toString);
        awaitSpooled(seg(2), seg(3), seg(4), "." + seg(2) + FetchAhead.VOUCH, "." + seg(3) + FetchAhead.VOUCH, "." + seg(4) + FetchAhead.VOUCH);

        // hashing tools that say they ran and fail: what is handed over without them was not hashed again
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        for (String tool : List.of("openssl", "sha256sum")) {
            Files.writeString(bin.resolve(tool), "#!/bin/sh\necho " + tool + " >> '" + tmp.resolve("hashed") + "'\nexit 1\n");
            Files.setPosixFilePermissions(bin.resolve(tool), PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        pathFirst = bin;
        Ran second = restoreCommand(command, seg(2));
        assertEquals(0, second.exitCode(), second::toString);
        assertEquals("", second.err());
        assertArrayEquals(segs.get(1), Files.readAllBytes(dest()));
        assertFalse(Files.exists(tmp.resolve("hashed")), "the vouched copy was not hashed again");
        assertEquals(1, jvmStarts());

        // 3 rewritten after the vouch, same size: no longer the copy vouched for, so the shell hashes (and, with no
        // hashing tool, refuses it); the archive's segment comes through wal-fetch
        byte[] tampered = Files.readAllBytes(spool().resolve(seg(3)));
        tampered[SIZE / 2] ^= 1;
        Files.write(spool().resolve(seg(3)), tampered);
        Files.setLastModifiedTime(spool().resolve(seg(3)), java.nio.file.attribute.FileTime.from(java.time.Instant.now().plusSeconds(2)));
        Ran third = restoreCommand(command, seg(3));
        assertEquals(0, third.exitCode(), third::toString);
        assertArrayEquals(segs.get(2), Files.readAllBytes(dest()));
        assertTrue(Files.exists(tmp.resolve("hashed")), "hashed, as before vouches");
        assertEquals(2, jvmStarts());
    }

    @Test
    void withoutAVouchTheShellHashesAndAVouchIsNoAuthorityOverTheArchive() throws Exception {
        Path repo = tmp.resolve("repo");
        Files.createDirectories(data().resolve("pg_wal"));
        List<byte[]> segs = archive(repo, 3, 0);
        Files.createDirectories(spool());
        String command = ArchiveCommand.fetchSpooled(List.of(launcher().toString()), repo.toString(), null, null);

        // the archive's own bytes with no vouch: hashed, and handed over by the shell
        Files.write(spool().resolve(seg(1)), segs.get(0));
        Ran first = restoreCommand(command, seg(1));
        assertEquals(0, first.exitCode(), first::toString);
        assertEquals("", first.err());
        assertArrayEquals(segs.get(0), Files.readAllBytes(dest()));
        assertEquals(0, jvmStarts());

        // a vouch naming this very file but a SHA-256 the archive does not record for the name: refused by the sidecar
        Files.write(spool().resolve(seg(2)), segs.get(2));
        Files.writeString(spool().resolve("." + seg(2) + FetchAhead.VOUCH),
                ArchiveAhead.identity(spool().resolve(seg(2))) + " " + sha256(segs.get(2)) + "\n");
        Ran second = restoreCommand(command, seg(2));
        assertEquals(0, second.exitCode(), second::toString);
        assertTrue(second.err().contains("does not match"), second::toString);
        assertArrayEquals(segs.get(1), Files.readAllBytes(dest()), "the archive's segment 2, through wal-fetch");
        assertEquals(1, jvmStarts());
        assertFalse(Files.exists(spool().resolve("." + seg(2) + FetchAhead.VOUCH)), "the refused copy's vouch goes with it");
    }

    @Test
    void aSegmentSpooledFromItsPartialIsNotVouchedForAndIsRefusedOnceTheFullOneIsArchived() throws Exception {
        Path repo = tmp.resolve("repo");
        Files.createDirectories(data().resolve("pg_wal"));
        archive(repo, 1, 0);
        // wal-receive's newest segment: only NAME.partial in the archive, zero-padded past what was received
        byte[] full = new byte[SIZE];
        new Random(42).nextBytes(full);
        byte[] partial = java.util.Arrays.copyOf(java.util.Arrays.copyOf(full, SIZE / 2), SIZE);
        Path f = tmp.resolve(seg(2) + ".partial");
        Files.write(f, partial);
        CliRun p = CliRun.run(env(), tmp, "wal-push", "--repo", repo.toString(), f.toString());
        assertEquals(0, p.exitCode(), p::toString);
        Files.createDirectories(spool());
        assertTrue(new FetchAhead(new dev.chronodr.repo.Repository(repo), spool(), 8, null).spoolSegment(seg(2)));
        assertArrayEquals(partial, Files.readAllBytes(spool().resolve(seg(2))));
        assertFalse(Files.exists(spool().resolve("." + seg(2) + FetchAhead.VOUCH)), "no vouch for a partial segment");

        // the full segment is archived meanwhile: the spooled partial is hashed, refused, and the full one fetched
        Path g = tmp.resolve(seg(2));
        Files.write(g, full);
        CliRun q = CliRun.run(env(), tmp, "wal-push", "--repo", repo.toString(), g.toString());
        assertEquals(0, q.exitCode(), q::toString);
        String command = ArchiveCommand.fetchSpooled(List.of(launcher().toString()), repo.toString(), null, null);
        Ran r = restoreCommand(command, seg(2));
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.err().contains("does not match"), r::toString);
        assertArrayEquals(full, Files.readAllBytes(dest()));
    }

    private static String sha256(byte[] b) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void whatTheArchiveDoesNotHaveIsAnsweredWithoutAJvmAndAPartialSegmentIsStillFetched() throws Exception {
        Path repo = tmp.resolve("repo");
        Files.createDirectories(data().resolve("pg_wal"));
        archive(repo, 2, 0);
        byte[] partial = new byte[SIZE];
        new Random(7).nextBytes(partial);
        Path f = tmp.resolve(seg(3) + ".partial");
        Files.write(f, partial);
        CliRun p = CliRun.run(env(), tmp, "wal-push", "--repo", repo.toString(), f.toString());
        assertEquals(0, p.exitCode(), p::toString);
        String command = ArchiveCommand.fetchSpooled(List.of(launcher().toString()), repo.toString(), null, null);

        // the end of the archive, and the history files the server probes for: exit 1 from the shell
        for (String name : List.of(seg(4), "00000002.history", "00000001.history")) {
            Ran r = restoreCommand(command, name);
            assertEquals(1, r.exitCode(), name + ": " + r);
            assertFalse(Files.exists(dest()));
        }
        assertEquals(0, jvmStarts(), "answered without a JVM");
        // a segment the archive has only as NAME.partial (wal-receive's newest) is wal-fetch's to hand out
        Ran r = restoreCommand(command, seg(3));
        assertEquals(0, r.exitCode(), r::toString);
        assertArrayEquals(partial, Files.readAllBytes(dest()));
        assertEquals(1, jvmStarts());
    }

    @Test
    void aPrefetcherKilledMidFetchLeavesNothingTheShellHandsOver() throws Exception {
        Path repo = tmp.resolve("repo");
        Files.createDirectories(data().resolve("pg_wal"));
        List<byte[]> segs = archive(repo, 3, 0);
        // segment 2's archived file becomes a pipe we feed by hand: the prefetcher stops mid-fetch, half written
        Path zst = repo.resolve("wal/00000001/" + seg(2) + ".zst");
        byte[] stored = Files.readAllBytes(zst);
        Files.delete(zst);
        assertEquals(0, new ProcessBuilder("mkfifo", zst.toString()).start().waitFor());
        Files.createDirectories(spool());
        String jvm = ProcessHandle.current().info().command().orElse("java");
        Process prefetcher = new ProcessBuilder(jvm, "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), "dev.chronodr.Main",
                "wal-fetch", "--repo", repo.toString(), "--spool", spool().toString(), "--lookahead", "2", "--prefetch",
                "--segment-size", String.valueOf(SIZE), seg(2), spool().toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("prefetcher.out").toFile()).start();
        started.add(prefetcher);
        try (OutputStream pipe = Files.newOutputStream(zst)) {
            pipe.write(stored, 0, stored.length / 2);
            pipe.flush();
            Path partial = null;
            for (int i = 0; i < 3000 && partial == null; i++) {
                try (var ls = Files.list(spool())) {
                    partial = ls.filter(p -> p.getFileName().toString().endsWith(".tmp")).filter(p -> p.toFile().length() > 0)
                            .findFirst().orElse(null);
                }
                Thread.sleep(10);
            }
            assertTrue(partial != null, "the prefetcher is writing segment 2: " + Files.readString(tmp.resolve("prefetcher.out")));
            prefetcher.destroyForcibly(); // kill -9, mid-fetch
            assertTrue(prefetcher.waitFor(10, TimeUnit.SECONDS));
        } catch (IOException closedByKill) {
            // the reader went away: that is the point
        }
        Files.delete(zst);
        Files.write(zst, stored);
        try (var ls = Files.list(spool())) {
            assertFalse(ls.anyMatch(p -> p.getFileName().toString().equals(seg(2))), "no file under the segment's own name");
        }
        // what a writer that is not atomic would have left: the first half under the final name. Refused by the hash.
        Files.write(spool().resolve(seg(3)), java.util.Arrays.copyOf(segs.get(2), SIZE / 2));
        String command = ArchiveCommand.fetchSpooled(List.of(launcher().toString()), repo.toString(), null, null);
        for (int i = 2; i <= 3; i++) {
            Ran r = restoreCommand(command, seg(i));
            assertEquals(0, r.exitCode(), r::toString);
            assertArrayEquals(segs.get(i - 1), Files.readAllBytes(dest()), "the archive's segment " + i + ", never the half-written one");
        }
        assertEquals(2, jvmStarts(), "both came from the archive through wal-fetch");
    }
}
