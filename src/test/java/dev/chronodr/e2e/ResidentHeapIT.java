package dev.chronodr.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.github.luben.zstd.ZstdInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher caps the heap of the resident commands (wal-archiver, wal-receive, monitor
 * --listen; the wal-fetch prefetcher gets it from core/ResidentHeap) at 256 MB unless
 * CHRONO_DR_RESIDENT_HEAP says otherwise, instead of the JVM's default of a quarter of the
 * machine's memory; monitor --listen also starts at 16 MB. A heap the user set in
 * JAVA_TOOL_OPTIONS is left alone, and a bad cap is refused in one line. The archiver still does its work within the cap: a burst of full-size segments
 * handed to it by wal-push is archived byte for byte, by the daemon.
 */
class ResidentHeapIT {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Pattern FLAG = Pattern.compile("-XX:(InitialHeapSize|MaxHeapSize)=(\\d+)");

    @TempDir
    Path dir;

    @Test
    void aResidentArchiverRunsInACappedHeapAndArchivesABurstOfSegments() throws Exception {
        assumeTrue(Files.isRegularFile(ROOT.resolve("target/chrono-dr.jar")), "needs `mvn package` first");
        Path repo = Files.createDirectories(dir.resolve("repo"));
        Process daemon = start(List.of("wal-archiver", "--repo", repo.toString()), Map.of());
        try {
            Map<String, Long> flags = heapFlags(daemon);
            assertEquals(256L << 20, flags.get("MaxHeapSize"), flags::toString);
            assertTrue(flags.get("InitialHeapSize") <= 256L << 20, flags::toString);

            // six 16 MiB segments that do not compress, each handed over by a wal-push of its own
            Path pgwal = Files.createDirectories(dir.resolve("data/pg_wal"));
            List<byte[]> sent = new ArrayList<>();
            for (int i = 1; i <= 6; i++) {
                byte[] b = new byte[16 << 20];
                new Random(i).nextBytes(b);
                sent.add(b);
                String name = String.format("0000000100000000000000%02X", i);
                Files.write(pgwal.resolve(name), b);
                Process push = new ProcessBuilder(ROOT.resolve("scripts/chrono-dr").toString(), "wal-push", "--repo", repo.toString(), "pg_wal/" + name)
                        .directory(dir.resolve("data").toFile()).redirectErrorStream(true).start();
                String out = new String(push.getInputStream().readAllBytes());
                assertTrue(push.waitFor(2, TimeUnit.MINUTES), out);
                assertEquals(0, push.exitValue(), out);
            }
            assertTrue(daemon.isAlive(), () -> "the daemon still serves: " + read(dir.resolve("daemon.log")));
            for (int i = 1; i <= 6; i++) {
                String name = String.format("0000000100000000000000%02X", i);
                try (InputStream in = new ZstdInputStream(Files.newInputStream(repo.resolve("wal/00000001/" + name + ".zst")))) {
                    assertArrayEquals(sent.get(i - 1), in.readAllBytes(), name);
                }
            }
        } finally {
            stop(daemon);
        }
        // the daemon stored them all, not wal-push by itself after a daemon that ran out of memory
        assertTrue(read(dir.resolve("daemon.log")).contains("wal-archiver: stopped; 6 segment(s) archived"), () -> read(dir.resolve("daemon.log")));

        // the cap is the operator's to set
        Process smaller = start(List.of("wal-archiver", "--repo", repo.toString()), Map.of("CHRONO_DR_RESIDENT_HEAP", "96m"));
        try {
            assertEquals(96L << 20, heapFlags(smaller).get("MaxHeapSize"));
        } finally {
            stop(smaller);
        }
    }

    @Test
    void aHeapTheUserSetIsLeftAloneAndABadCapIsRefusedInOneLine() throws Exception {
        assumeTrue(Files.isRegularFile(ROOT.resolve("target/chrono-dr.jar")), "needs `mvn package` first");
        Path repo = Files.createDirectories(dir.resolve("repo"));
        Process own = start(List.of("wal-archiver", "--repo", repo.toString()), Map.of("JAVA_TOOL_OPTIONS", "-Xmx300m"));
        try {
            assertEquals(300L << 20, heapFlags(own).get("MaxHeapSize"), "JAVA_TOOL_OPTIONS is not overridden by the launcher's cap");
        } finally {
            stop(own);
        }
        Path badLog = dir.resolve("bad.log");
        ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("scripts/chrono-dr").toString(), "wal-archiver", "--repo", repo.toString())
                .redirectErrorStream(true).redirectOutput(badLog.toFile());
        clean(pb.environment());
        pb.environment().put("CHRONO_DR_RESIDENT_HEAP", "256MB");
        Process bad = pb.start();
        if (!bad.waitFor(60, TimeUnit.SECONDS)) {
            stop(bad);
            throw new AssertionError("a bad cap started the daemon anyway: " + read(badLog));
        }
        String out = read(badLog);
        assertEquals(64, bad.exitValue(), out);
        assertTrue(out.startsWith("chrono-dr: CHRONO_DR_RESIDENT_HEAP=256MB is not a heap size of at least 32m\n  hint: "), out);
    }

    @Test
    void aListeningMonitorStartsSmallAndIsCapped() throws Exception {
        assumeTrue(Files.isRegularFile(ROOT.resolve("target/chrono-dr.jar")), "needs `mvn package` first");
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        // no server to watch: it serves /health as critical, which is all this needs
        Process monitor = start(List.of("monitor", "--listen", "127.0.0.1:" + port),
                Map.of("PGHOST", "127.0.0.1", "PGPORT", "1", "PGDATABASE", "none", "PGUSER", "none"));
        try {
            Map<String, Long> flags = heapFlags(monitor);
            assertEquals(16L << 20, flags.get("InitialHeapSize"), flags::toString);
            assertEquals(256L << 20, flags.get("MaxHeapSize"), flags::toString);
        } finally {
            stop(monitor);
        }
    }

    private Process start(List<String> args, Map<String, String> env) throws Exception {
        Path log = dir.resolve("daemon.log");
        Files.deleteIfExists(log);
        List<String> argv = new ArrayList<>(List.of(ROOT.resolve("scripts/chrono-dr").toString()));
        argv.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile());
        clean(pb.environment());
        pb.environment().putAll(env);
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && p.isAlive() && !read(log).contains("serving")) {
            Thread.sleep(100);
        }
        if (!read(log).contains("serving")) {
            p.descendants().forEach(ProcessHandle::destroyForcibly); // it must not keep the repository's lock
            p.destroyForcibly();
            throw new AssertionError("the daemon did not start: " + read(log));
        }
        return p;
    }

    /** What the machine running the tests may have set, and what each test sets for itself. */
    private static void clean(Map<String, String> env) {
        List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS", "CHRONO_DR_RESIDENT_HEAP").forEach(env::remove);
    }

    /** The heap the daemon's JVM runs with, as the JVM itself reports it (the launcher runs java as itself or as its child). */
    private static Map<String, Long> heapFlags(Process launched) throws Exception {
        ProcessHandle jvm = java.util.stream.Stream.concat(java.util.stream.Stream.of(launched.toHandle()), launched.descendants())
                .filter(h -> h.info().command().map(c -> c.endsWith("/java")).orElse(false))
                .findFirst().orElseThrow(() -> new AssertionError("no java process under the launcher"));
        Path jcmdBin = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        assumeTrue(Files.isExecutable(jcmdBin), "needs the JDK's jcmd");
        Process jcmd = new ProcessBuilder(jcmdBin.toString(), String.valueOf(jvm.pid()), "VM.flags").redirectErrorStream(true).start();
        String out = new String(jcmd.getInputStream().readAllBytes());
        assertTrue(jcmd.waitFor(60, TimeUnit.SECONDS), out);
        Map<String, Long> flags = new java.util.HashMap<>();
        Matcher m = FLAG.matcher(out);
        while (m.find()) {
            flags.put(m.group(1), Long.parseLong(m.group(2)));
        }
        assertEquals(2, flags.size(), out);
        return flags;
    }

    private static void stop(Process p) throws Exception {
        new ProcessBuilder("kill", "-TERM", String.valueOf(p.pid())).start().waitFor();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (java.io.IOException e) {
            return "(" + e.getMessage() + ")";
        }
    }
}
