package dev.chronodr.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** The built jar, run as a user would: java -jar target/chrono-dr.jar ... */
@PostgresTest
class JarIT {
    @TempDir
    Path dir;

    static ProcessResult jar(Map<String, String> env, Path cwd, String... args) {
        Path jar = Path.of(System.getProperty("chronodr.jar", "target/chrono-dr.jar")).toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), "built jar at " + jar);
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString()));
        argv.addAll(List.of(args));
        return new ProcessRunner(env).execute(ProcessSpec.of(argv).withWorkDir(cwd).withTimeout(Duration.ofMinutes(2)));
    }

    @Test
    void versionHelpAndUsageErrors(PgCluster pg) {
        ProcessResult v = jar(pg.env("postgres"), dir, "--version");
        assertEquals(0, v.exitCode());
        assertTrue(v.stdout().startsWith("chrono-dr "), v.stdout());
        ProcessResult bad = jar(pg.env("postgres"), dir, "check", "--nope");
        assertEquals(64, bad.exitCode());
        assertTrue(bad.stderrTail().contains("unknown option '--nope'"), bad.stderrTail());
    }

    @Test
    void checkAgainstARealServer(PgCluster pg) {
        ProcessResult r = jar(pg.env("postgres"), dir, "check", "--format", "json");
        assertEquals(0, r.exitCode(), r.stderrTail());
        assertTrue(r.stdout().contains("\"role\" : \"primary\""), r.stdout());
        ProcessResult down = jar(pg.env("postgres"), dir, "check", "-p", "1");
        assertEquals(2, down.exitCode());
        assertTrue(down.stderrTail().contains("127.0.0.1:1"), down.stderrTail());
    }
}
