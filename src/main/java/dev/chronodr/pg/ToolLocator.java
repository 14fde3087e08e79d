package dev.chronodr.pg;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/**
 * Finds PostgreSQL client binaries on this machine and picks the one that matches the
 * server: the same major if installed, else the nearest newer one. An older pg_dump
 * cannot dump a newer server, so that case is reported with the package to install.
 */
public final class ToolLocator {
    private static final Pattern VERSIONED_DIR = Pattern.compile(".*/(?:postgresql/|pgsql-|postgresql@)(\\d+)(?:/bin|/)?.*");
    static final List<String> VERSIONED_ROOTS = List.of("/usr/lib/postgresql", "/usr/local/lib/postgresql");

    private final ProcessRunner runner;
    private final Map<String, String> env;
    private final Map<Path, Optional<PgVersion>> versionCache = new LinkedHashMap<>();

    public ToolLocator(ProcessRunner runner, Map<String, String> env) {
        this.runner = runner;
        this.env = env;
    }

    /** One candidate binary and its version. */
    public record Candidate(Path path, PgVersion version) {
    }

    /** The choice for one tool against one server. */
    public record Located(PgTool tool, Path path, PgVersion version, PgVersion server, boolean usable, String problem) {
    }

    public Located locate(PgTool tool, PgVersion server) {
        List<Candidate> all = candidates(tool);
        if (all.isEmpty()) {
            return new Located(tool, null, null, server, false,
                    tool.binary() + " not found; install " + packageFor(server));
        }
        Optional<Candidate> best = all.stream()
                .filter(c -> c.version().major() >= server.major())
                .min(Comparator.comparingInt(c -> c.version().major()));
        if (best.isPresent()) {
            Candidate c = best.get();
            return new Located(tool, c.path(), c.version(), server, true, null);
        }
        Candidate newest = all.stream().max(Comparator.comparing(Candidate::version)).orElseThrow();
        if (tool.mustNotBeOlderThanServer()) {
            return new Located(tool, newest.path(), newest.version(), server, false,
                    tool.binary() + " " + newest.version().major() + " cannot work with a PostgreSQL " + server.major()
                            + " server; install " + packageFor(server));
        }
        return new Located(tool, newest.path(), newest.version(), server, true, null);
    }

    /** Debian's name; other systems name it alike. */
    public static String packageFor(PgVersion server) {
        return "postgresql-client-" + server.major();
    }

    /** A program that is not PostgreSQL's (zstd), from PATH; empty when there is none. */
    public Optional<Path> onPath(String program) {
        for (String dir : env.getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin").split(":")) {
            Path p = dir.isEmpty() ? null : Path.of(dir, program);
            if (p != null && Files.isExecutable(p) && !Files.isDirectory(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** Every distinct binary of that name: versioned directories, pg_config --bindir, then PATH. */
    public List<Candidate> candidates(PgTool tool) {
        List<Path> paths = new ArrayList<>();
        String override = env.get("CHRONO_DR_PG_BIN");
        if (override != null && !override.isBlank()) {
            paths.add(Path.of(override, tool.binary()));
        }
        for (String root : VERSIONED_ROOTS) {
            Path r = Path.of(root);
            if (Files.isDirectory(r)) {
                try (DirectoryStream<Path> dirs = Files.newDirectoryStream(r)) {
                    for (Path d : dirs) {
                        paths.add(d.resolve("bin").resolve(tool.binary()));
                    }
                } catch (IOException ignored) {
                    // unreadable root: nothing found there
                }
            }
        }
        String path = env.getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty()) {
                paths.add(Path.of(dir, tool.binary()));
            }
        }
        List<Candidate> found = new ArrayList<>();
        List<Path> seen = new ArrayList<>();
        for (Path p : paths) {
            if (!Files.isExecutable(p)) {
                continue;
            }
            Path real;
            try {
                real = p.toRealPath();
            } catch (IOException e) {
                continue;
            }
            // Debian's pg_wrapper dispatches to the versioned directories listed above.
            if (seen.contains(real) || real.getFileName().toString().equals("pg_wrapper")) {
                continue;
            }
            seen.add(real);
            version(p).ifPresent(v -> found.add(new Candidate(p, v)));
        }
        return found;
    }

    /**
     * A versioned install directory tells the major without starting a process; other
     * binaries are asked. {@link #exactVersion} asks the chosen one for its minor.
     */
    private Optional<PgVersion> version(Path binary) {
        return versionCache.computeIfAbsent(binary, b -> {
            Matcher m = VERSIONED_DIR.matcher(b.toString());
            if (m.matches()) {
                return Optional.of(PgVersion.ofMajor(Integer.parseInt(m.group(1))));
            }
            return exactVersion(b);
        });
    }

    /** The binary's own {@code --version}. */
    public Optional<PgVersion> exactVersion(Path binary) {
        try {
            return Optional.of(PgVersion.parseToolVersion(runner.run(ProcessSpec.of(binary.toString(), "--version")
                    .withTimeout(java.time.Duration.ofSeconds(10))).stdout()));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }
}
