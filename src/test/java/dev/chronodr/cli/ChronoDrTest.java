package dev.chronodr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import picocli.CommandLine.Command;

import dev.chronodr.testing.CliRun;

class ChronoDrTest {
    @Test
    void theNameTableMatchesEveryCommandsAnnotation() {
        Map<String, Class<?>> fromAnnotations = new TreeMap<>();
        for (Class<?> c : ChronoDr.COMMANDS) {
            Command a = c.getAnnotation(Command.class);
            assertEquals(0, a.aliases().length, c + ": an alias would need its own entry in BY_NAME");
            fromAnnotations.put(a.name(), c);
        }
        assertEquals(fromAnnotations, new TreeMap<>(ChronoDr.BY_NAME));
    }

    @Test
    void helpStillListsEveryCommandAndACommandsHelpWorks() {
        CliRun root = CliRun.run(Map.of(), java.nio.file.Path.of("."), "--help");
        assertEquals(0, root.exitCode(), root.toString());
        for (String name : ChronoDr.BY_NAME.keySet()) {
            assertTrue(root.out().contains("  " + name + " ") || root.out().contains("  " + name + "\n"), name + " in\n" + root.out());
        }
        CliRun one = CliRun.run(Map.of(), java.nio.file.Path.of("."), "monitor", "--help");
        assertEquals(0, one.exitCode(), one.toString());
        assertTrue(one.out().contains("--check"), one.out());
        CliRun typo = CliRun.run(Map.of(), java.nio.file.Path.of("."), "monitr");
        assertEquals(64, typo.exitCode(), typo.toString());
    }
}
