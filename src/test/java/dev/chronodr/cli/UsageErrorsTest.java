package dev.chronodr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;

/** Bad input gets one line, a hint, and exit 64, before anything connects. */
class UsageErrorsTest {
    @TempDir
    Path dir;

    private CliRun run(String... args) {
        return CliRun.run(Map.of("PATH", System.getenv("PATH"), "HOME", dir.toString()), dir, args);
    }

    @Test
    void unknownSubcommand() {
        CliRun r = run("bakup");
        assertEquals(64, r.exitCode());
        assertTrue(r.err().contains("unknown command or argument 'bakup'"), r.err());
    }

    @Test
    void unknownFlag() {
        CliRun r = run("check", "--hots", "x");
        assertEquals(64, r.exitCode());
        assertTrue(r.err().startsWith("chrono-dr: unknown option '--hots'"), r.err());
        assertTrue(r.err().contains("chrono-dr check --help"), r.err());
    }

    @Test
    void unknownFlagInJson() {
        CliRun r = run("check", "--bogus", "--format", "json");
        assertEquals(64, r.exitCode());
        assertEquals(64, r.json().get("exit_code").asInt());
    }

    @Test
    void portOutOfRange() {
        CliRun r = run("check", "-p", "70000");
        assertEquals(64, r.exitCode());
        assertTrue(r.err().contains("--port 70000 is out of range"), r.err());
    }

    @Test
    void picocliMessagesReadLikeOurs() {
        CliRun r = run("check", "-p");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().startsWith("chrono-dr: missing required parameter for option '--port'"), r.err());
    }

    @Test
    void portNotANumber() {
        CliRun r = run("check", "-p", "abc");
        assertEquals(64, r.exitCode(), r.toString());
    }

    @Test
    void pointInTimeOptionsWithoutAPointInTimeTarget() {
        CliRun r = run("restore", "--latest", "--target-db", "copy", "--tablespace-map", "media=/srv/media");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--data-dir, --command, --tablespace-map and --force-clean apply to point-in-time recovery only"), r.err());
    }

    @Test
    void unknownFormat() {
        CliRun r = run("check", "--format", "yaml");
        assertEquals(64, r.exitCode());
        assertTrue(r.err().contains("use one of: text, json"), r.err());
    }

    @Test
    void missingConfig() {
        CliRun r = run("check", "--config", "nope.yaml");
        assertEquals(64, r.exitCode());
        assertTrue(r.err().contains("nope.yaml does not exist"), r.err());
    }

    @Test
    void malformedConfigNamesFileAndLine() throws Exception {
        Files.writeString(dir.resolve("bad.yaml"), "targets:\n  prod:\n    host: db\n    port: [1\n");
        CliRun r = run("check", "--config", "bad.yaml");
        assertEquals(64, r.exitCode());
        assertTrue(r.err().contains("bad.yaml line"), r.err());
    }

    @Test
    void unknownConfigKeyNamesIt() throws Exception {
        Files.writeString(dir.resolve("typo.yaml"), "targets:\n  prod:\n    hots: db\n");
        CliRun r = run("check", "--config", "typo.yaml");
        assertEquals(64, r.exitCode());
        assertTrue(r.err().contains("unknown key 'hots'") || r.err().contains("line 3"), r.err());
    }

    @Test
    void unknownTargetListsTheOnesThatExist() throws Exception {
        Files.writeString(dir.resolve("c.yaml"), "targets:\n  prod:\n    host: db\n  staging:\n    host: db2\n");
        CliRun r = run("check", "--config", "c.yaml", "--target", "qa");
        assertEquals(64, r.exitCode());
        assertTrue(r.err().contains("no target 'qa'"), r.err());
        assertTrue(r.err().contains("prod, staging"), r.err());
    }

    @Test
    void sandboxBesideAnotherDatabaseIsRefusedBeforeAnythingRuns() {
        for (String command : new String[] {"backup", "check", "verify"}) {
            CliRun r = run(command, "--sandbox", "-d", "no_such_db", "--repo", "repo");
            assertEquals(64, r.exitCode(), command + ": " + r);
            assertTrue(r.err().contains("--sandbox chooses the sandbox's own server and database; it cannot be combined with -d/--dbname"),
                    r.err());
            assertTrue(!Files.exists(dir.resolve("repo")), "nothing written: " + command);
        }
        CliRun two = run("check", "--sandbox", "-h", "db1", "--target", "prod");
        assertEquals(64, two.exitCode(), two.toString());
        assertTrue(two.err().contains("-h/--host, --target"), two.err());
    }

    @Test
    void helpAndVersion() {
        CliRun help = run("--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.out().contains("check"));
        CliRun version = run("--version");
        assertEquals(0, version.exitCode());
        assertTrue(version.out().startsWith("chrono-dr "), version.out());
        CliRun sub = run("check", "--help");
        assertTrue(sub.out().contains("-h, --host"), sub.out());
    }

    @Test
    void completionScript() {
        CliRun r = run("completion");
        assertEquals(0, r.exitCode());
        assertTrue(r.out().contains("complete -F"), r.out().substring(0, 200));
        assertTrue(r.out().contains("sandbox"));
    }
}
