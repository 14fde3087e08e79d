package dev.chronodr.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C reaches the command on the launcher's first run of a command after a build, the run
 * that also makes the command's class-data archive. That run starts java in the background,
 * and bash starts background commands with SIGINT ignored, which the JVM keeps: SIGINT
 * forwarded as it was did nothing, and the command ran to its end (found by PitrDrillTest's
 * Ctrl-C test in a fresh clone, where dr-test's archive did not exist yet).
 */
class LauncherSignalIT {
    private static final Path ROOT = Path.of("").toAbsolutePath();

    @TempDir
    Path dir;

    @Test
    void sigintStopsTheFirstRunOfACommand() throws Exception {
        assumeTrue(Files.isRegularFile(ROOT.resolve("target/chrono-dr.jar")), "needs `mvn package` first");
        assumeTrue(Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("SigIgn:"))
                        .noneMatch(l -> (Long.parseLong(l.substring(7).strip(), 16) & 2) != 0),
                "this JVM was started with SIGINT ignored (nohup, or a script's background job), and so is the launcher it starts: "
                        + "no shell can trap a signal ignored on entry, so Ctrl-C cannot be simulated here");
        Files.deleteIfExists(ROOT.resolve("target/cds/wal-archiver.jsa")); // the first run's path: no archive yet
        Path repo = Files.createDirectories(dir.resolve("repo"));
        Path log = dir.resolve("out.log");
        ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("scripts/chrono-dr").toString(), "wal-archiver", "--repo", repo.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        Process p = pb.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline && p.isAlive() && !Files.readString(log).contains("serving")) {
                Thread.sleep(100);
            }
            assertTrue(Files.readString(log).contains("serving"), () -> "the daemon started: " + read(log));
            assertEquals(0, new ProcessBuilder("kill", "-INT", String.valueOf(p.pid())).start().waitFor());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), () -> "SIGINT stopped it: " + read(log));
            assertEquals(0, p.exitValue(), () -> "wal-archiver stops cleanly on SIGINT: " + read(log));
            assertTrue(read(log).contains("stopped") || !Files.exists(repo.resolve("wal/.archiver.sock")),
                    () -> "and removed its socket: " + read(log));
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            return "(" + e.getMessage() + ")";
        }
    }
}
