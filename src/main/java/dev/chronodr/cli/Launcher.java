package dev.chronodr.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import dev.chronodr.Main;

/**
 * The absolute command that runs this chrono-dr, for archive_command and restore_command:
 * the checkout's scripts/chrono-dr beside the jar (or classes) we run from, else
 * {@code JAVA -jar JAR}. The server runs it with an almost empty environment, so no PATH lookup.
 */
final class Launcher {
    private Launcher() {
    }

    static List<String> current() {
        Path code;
        try {
            code = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath();
        } catch (URISyntaxException | RuntimeException e) {
            return List.of("chrono-dr");
        }
        // target/chrono-dr.jar or target/classes -> the checkout root
        Path root = code.getParent() == null ? null : code.getParent().getParent();
        if (root != null && Files.isExecutable(root.resolve("scripts/chrono-dr"))) {
            return List.of(root.resolve("scripts/chrono-dr").toString());
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        if (Files.isRegularFile(code) && code.toString().endsWith(".jar")) {
            return List.of(java, "-jar", code.toString());
        }
        return List.of(java, "-cp", System.getProperty("java.class.path"), Main.class.getName());
    }

    /** A --command value: split on spaces (paths with spaces belong in a wrapper script). */
    static List<String> parse(String command) {
        return command == null ? current() : List.of(command.trim().split("\\s+"));
    }
}
