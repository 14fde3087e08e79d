package dev.chronodr.core;

import java.nio.file.Path;
import java.util.Map;

/**
 * The process environment and working directory as the entry point saw them. Passed
 * down instead of read from System.getenv(), so tests run the real command line with
 * an environment of their own.
 */
public record Environment(Map<String, String> vars, Path cwd) {
    public Environment {
        vars = Map.copyOf(vars);
    }

    public static Environment system() {
        return new Environment(System.getenv(), Path.of("").toAbsolutePath());
    }

    public String get(String name) {
        String v = vars.get(name);
        return v == null || v.isEmpty() ? null : v;
    }

    public Path home() {
        String h = get("HOME");
        return Path.of(h != null ? h : System.getProperty("user.home"));
    }

    /** A path as the user typed it: relative to the working directory, ~ expanded. */
    public Path resolve(String path) {
        if (path.equals("~")) {
            return home();
        }
        if (path.startsWith("~/")) {
            return home().resolve(path.substring(2));
        }
        return cwd.resolve(path).normalize();
    }

    public String osUser() {
        String u = get("USER");
        return u != null ? u : System.getProperty("user.name");
    }
}
