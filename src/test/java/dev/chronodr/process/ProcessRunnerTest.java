package dev.chronodr.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class ProcessRunnerTest {
    private final ProcessRunner runner = new ProcessRunner(Map.of("PATH", "/usr/bin:/bin"));

    @Test
    void streamsLargeStdoutWhileStderrIsBusyToo() {
        // 50 MB on stdout and chatter on stderr: both must be drained or the child blocks.
        AtomicLong bytes = new AtomicLong();
        ProcessResult r = runner.run(ProcessSpec.of("bash", "-c",
                        "for i in $(seq 1 2000); do echo err $i >&2; done; head -c 52428800 /dev/zero")
                .withStdout(in -> bytes.addAndGet(in.transferTo(java.io.OutputStream.nullOutputStream()))));
        assertEquals(52428800L, bytes.get());
        assertTrue(r.stderrTail().contains("err 2000"));
    }

    @Test
    void stdinIsFed() {
        ProcessResult r = runner.run(ProcessSpec.of("wc", "-c").withStdin(out -> out.write(new byte[12345])));
        assertEquals("12345", r.stdout().strip());
    }

    @Test
    void failureCarriesTheStderrTail() {
        ProcessFailedException e = assertThrows(ProcessFailedException.class,
                () -> runner.run(ProcessSpec.of("bash", "-c", "echo first >&2; echo 'FATAL: it broke' >&2; exit 3")));
        assertEquals(3, e.exitCode());
        assertTrue(e.getMessage().contains("FATAL: it broke"), e.getMessage());
    }

    @Test
    void timeoutKillsTheChild() {
        long t0 = System.nanoTime();
        ProcessFailedException e = assertThrows(ProcessFailedException.class,
                () -> runner.run(ProcessSpec.of("sleep", "30").withTimeout(Duration.ofMillis(300))));
        assertTrue(e.timedOut());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L);
    }

    @Test
    void failingSinkKillsTheChildInsteadOfHanging() {
        ProcessFailedException e = assertThrows(ProcessFailedException.class, () -> runner.run(ProcessSpec.of("cat", "/dev/zero")
                .withTimeout(Duration.ofSeconds(30))
                .withStdout((InputStream in) -> {
                    in.readNBytes(1 << 20);
                    throw new IOException("No space left on device");
                })));
        assertTrue(e.getCause().getMessage().contains("No space left"));
    }

    @Test
    void envIsAddedAndRemoved() {
        ProcessRunner r = new ProcessRunner(Map.of("PATH", "/usr/bin:/bin", "PGPASSWORD", "from-shell", "KEEP", "k"));
        ProcessResult res = r.run(ProcessSpec.of("env").withoutEnv(List.of("PGPASSWORD")).withEnv(Map.of("ADDED", "a")));
        List<String> lines = new ArrayList<>(res.stdout().lines().toList());
        assertTrue(lines.contains("ADDED=a"));
        assertTrue(lines.contains("KEEP=k"));
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("PGPASSWORD=")));
    }

    @Test
    void stderrLinesAreDelivered() {
        List<String> lines = new ArrayList<>();
        runner.run(ProcessSpec.of("bash", "-c", "echo one >&2; echo two >&2").withStderrLines(lines::add));
        assertEquals(List.of("one", "two"), lines);
    }

    @Test
    void aMultiByteCharacterSplitBetweenTwoReadsStaysOneCharacter() {
        // 8191 bytes, then "é" (two bytes): the reader's 8192-byte buffer ends between them
        List<String> lines = new ArrayList<>();
        runner.run(ProcessSpec.of("bash", "-c", "{ head -c 8191 /dev/zero | tr '\\0' a; printf '\\303\\251\\nsecond \\342\\234\\223\\n'; } >&2")
                .withStderrLines(lines::add));
        assertEquals(List.of("a".repeat(8191) + "\u00e9", "second \u2713"), lines);
    }

    @Test
    void aChildThatStopsReadingEarlyIsJudgedByItsExitCode() {
        // head reads a little and exits 0, as pg_restore --list does after the table of contents.
        for (int i = 0; i < 20; i++) {
            ProcessResult r = runner.run(ProcessSpec.of("head", "-c", "10").withStdin(out -> {
                byte[] chunk = new byte[1 << 16];
                for (int n = 0; n < 200; n++) {
                    out.write(chunk);
                }
            }));
            assertEquals(10, r.stdout().length());
        }
        assertThrows(ProcessFailedException.class, () -> runner.run(ProcessSpec.of("bash", "-c", "head -c 10 >/dev/null; exit 3")
                .withStdin(out -> out.write(new byte[1 << 22]))));
    }

    @Test
    void aProcessTheChildLeftRunningWithItsOutputIsEndedNotWaitedFor() throws Exception {
        // as pg_basebackup -X stream killed with SIGKILL: its forked WAL streamer lives on with the same stdout and
        // stderr, and the readers waited for it (up to the 24 h timeout)
        ProcessResult r = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> runner.execute(ProcessSpec.of("sh", "-c", "sleep 300 & echo $!; sleep 2; kill -9 $$")));
        assertEquals(137, r.exitCode(), "killed by SIGKILL, as the child was");
        long sleeper = Long.parseLong(r.stdout().strip());
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ProcessHandle.of(sleeper).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(ProcessHandle.of(sleeper).map(h -> !h.isAlive()).orElse(true), "what it left running was ended");
    }
}
