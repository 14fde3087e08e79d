package dev.chronodr.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/**
 * The scripts as a user runs them, after `mvn package` built the jar and the man pages:
 * scripts/install.sh into a prefix, then the installed launcher from another directory as
 * the postgres OS user (as the server's archive_command runs it); and scripts/chrono-dr's
 * first run, which builds the jar, leaving no terminal codes on stderr.
 */
class InstallIT {
    private static final Path ROOT = Path.of("").toAbsolutePath();

    @TempDir
    Path dir;

    private static ProcessResult run(Path cwd, Duration timeout, String... argv) {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.remove("MANPATH");
        return new ProcessRunner(env).execute(ProcessSpec.of(List.of(argv)).withWorkDir(cwd).withTimeout(timeout));
    }

    /** postgres must reach the prefix and its working directory through the test's private temp directory. */
    private static void openToAll(Path... paths) throws IOException {
        for (Path p : paths) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void installsALauncherThePostgresUserRunsFromAnyDirectoryWithCompletionAndManPages() throws IOException {
        assumeTrue(Files.isRegularFile(ROOT.resolve("target/chrono-dr.jar")) && Files.isRegularFile(ROOT.resolve("target/man/man1/chrono-dr.1")),
                "needs `mvn package` first");
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/runuser")) && "root".equals(System.getProperty("user.name")),
                "runs the launcher as postgres: needs root and runuser");
        Path prefix = dir.resolve("prefix");
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        openToAll(dir, elsewhere);

        ProcessResult install = run(dir, Duration.ofMinutes(5), ROOT.resolve("scripts/install.sh").toString(), "--prefix", prefix.toString());
        assertEquals(0, install.exitCode(), install.stdout() + install.stderrTail());
        assertTrue(install.stdout().contains("installed in " + prefix), install.stdout());

        Path launcher = prefix.resolve("bin/chrono-dr");
        assertTrue(Files.isExecutable(launcher));
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(launcher)));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(prefix.resolve("lib/chrono-dr/chrono-dr.jar"))));

        // As postgres, from a directory of its own, with the short PATH a server's archive_command may have.
        ProcessResult version = run(elsewhere, Duration.ofMinutes(1), "runuser", "-u", "postgres", "--",
                "env", "-i", "PATH=/usr/bin:/bin", launcher.toString(), "--version");
        assertEquals(0, version.exitCode(), version.stderrTail());
        assertTrue(version.stdout().startsWith("chrono-dr "), version.stdout());
        ProcessResult usage = run(elsewhere, Duration.ofMinutes(1), "runuser", "-u", "postgres", "--",
                "env", "-i", "PATH=/usr/bin:/bin", launcher.toString(), "wal-push");
        assertEquals(64, usage.exitCode(), "the real command line answers: " + usage.stderrTail());
        // the installed launcher caps a resident command's heap by scripts/chrono-dr's rules: a bad cap is refused before java starts
        for (String cap : List.of("0g", "31m", "256MB")) {
            ProcessResult badCap = run(elsewhere, Duration.ofMinutes(1), "runuser", "-u", "postgres", "--",
                    "env", "-i", "PATH=/usr/bin:/bin", "CHRONO_DR_RESIDENT_HEAP=" + cap, launcher.toString(), "wal-archiver", "--repo", "/nonexistent");
            assertEquals(64, badCap.exitCode(), cap + ": " + badCap.stderrTail());
            assertTrue(badCap.stderrTail().contains("chrono-dr: CHRONO_DR_RESIDENT_HEAP=" + cap + " is not a heap size of at least 32m"),
                    badCap.stderrTail());
        }

        // bash completion completes a command name.
        Path bash = prefix.resolve("share/bash-completion/completions/chrono-dr");
        ProcessResult complete = run(elsewhere, Duration.ofMinutes(1), "runuser", "-u", "postgres", "--", "bash", "-c",
                "source '" + bash + "'; COMP_WORDS=(chrono-dr bac); COMP_CWORD=1; COMP_LINE='chrono-dr bac'; "
                        + "_complete_chrono-dr; echo \"${COMPREPLY[*]}\"");
        assertEquals(0, complete.exitCode(), complete.stderrTail());
        assertEquals("backup", complete.stdout().strip());
        String zsh = Files.readString(prefix.resolve("share/zsh/site-functions/_chrono-dr"));
        assertTrue(zsh.startsWith("#compdef chrono-dr\n") && zsh.contains(bash.toString()), zsh);

        // A man page for the root and for each command, from the picocli model.
        Path man = prefix.resolve("share/man");
        List<String> pages;
        try (Stream<Path> files = Files.list(man.resolve("man1"))) {
            pages = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        for (String page : List.of("chrono-dr.1", "chrono-dr-backup.1", "chrono-dr-restore.1", "chrono-dr-sandbox-start.1")) {
            assertTrue(pages.contains(page), page + " in " + pages);
        }
        if (Files.isExecutable(Path.of("/usr/bin/man"))) {
            ProcessResult page = run(elsewhere, Duration.ofMinutes(1), "env", "MANPAGER=cat", "MANWIDTH=100",
                    "man", "-M", man.toString(), "chrono-dr-backup");
            assertEquals(0, page.exitCode(), page.stderrTail());
            assertTrue(page.stdout().contains("chrono-dr-backup - Take a backup into the repository"), page.stdout());
            assertTrue(page.stdout().contains("--repo=DIR"), page.stdout());
            ProcessResult root = run(elsewhere, Duration.ofMinutes(1), "env", "MANPAGER=cat", "man", "-M", man.toString(), "chrono-dr");
            assertEquals(0, root.exitCode(), root.stderrTail());
            assertTrue(root.stdout().contains("chrono-dr-backup(1)"), root.stdout());
        }

        ProcessResult bad = run(dir, Duration.ofMinutes(1), ROOT.resolve("scripts/install.sh").toString(), "--prefx", "x");
        assertEquals(64, bad.exitCode(), bad.stderrTail());
        assertFalse(Files.exists(dir.resolve("x")));
    }

    @Test
    void theLaunchersFirstRunBuildsTheJarWithoutTerminalCodesOnStderr() throws IOException {
        assumeTrue(Files.isRegularFile(ROOT.resolve("target/chrono-dr.jar")), "needs `mvn package` first (its dependencies are then cached)");
        // A copy of the project without its jar: the launcher builds it, as on a fresh checkout.
        Path copy = dir.resolve("checkout");
        Files.createDirectories(copy.resolve("scripts"));
        Files.copy(ROOT.resolve("pom.xml"), copy.resolve("pom.xml"));
        Files.copy(ROOT.resolve("scripts/chrono-dr"), copy.resolve("scripts/chrono-dr"));
        List<Path> sources;
        try (Stream<Path> walk = Files.walk(ROOT.resolve("src/main"))) {
            sources = walk.toList();
        }
        for (Path p : sources) {
            Path to = copy.resolve(ROOT.relativize(p).toString());
            if (Files.isDirectory(p)) {
                Files.createDirectories(to);
            } else {
                Files.copy(p, to);
            }
        }
        List<String> argv = new ArrayList<>(List.of(copy.resolve("scripts/chrono-dr").toString(), "--version"));
        ProcessResult r = run(dir, Duration.ofMinutes(8), argv.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.stderrTail());
        assertTrue(r.stdout().startsWith("chrono-dr "), r.stdout());
        assertTrue(r.stderrTail().contains("building"), r.stderrTail());
        assertFalse(r.stderrTail().contains("\u001b"), "terminal codes on stderr: " + r.stderrTail().replace("\u001b", "ESC"));
    }
}
