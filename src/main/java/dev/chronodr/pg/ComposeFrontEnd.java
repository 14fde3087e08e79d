package dev.chronodr.pg;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.chronodr.core.ChronoException;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/**
 * Which docker compose this machine has: the v2 plugin ({@code docker compose}) or the v1
 * tool ({@code docker-compose}); both are common on servers and take the same words for
 * what chrono-dr asks ({@code exec -T}, {@code stop}, {@code up -d}, {@code ps -q}).
 * {@value #ENV} ({@code v1} or {@code v2}) overrides the detection.
 */
public final class ComposeFrontEnd {
    public static final ComposeFrontEnd V2 = new ComposeFrontEnd(2, null);
    /** v1 by name, found on the PATH when it runs. */
    public static final ComposeFrontEnd V1 = new ComposeFrontEnd(1, "docker-compose");

    public static final String ENV = "CHRONO_DR_COMPOSE";

    private final int version;
    private final String v1Binary;

    private ComposeFrontEnd(int version, String v1Binary) {
        this.version = version;
        this.v1Binary = v1Binary;
    }

    /** 2 for the plugin, 1 for the python tool. */
    public int version() {
        return version;
    }

    /** As a user types it: {@code docker compose} or {@code docker-compose}. */
    public String command() {
        return version == 2 ? "docker compose" : "docker-compose";
    }

    /** {@code docker compose [-f FILE] WORDS...} or {@code docker-compose [-f FILE] WORDS...}. */
    public List<String> argv(ExecSettings exec, List<String> words) {
        List<String> argv = new ArrayList<>();
        if (version == 2) {
            argv.addAll(List.of(exec.dockerBinary(), "compose"));
        } else {
            argv.add(v1Binary);
        }
        if (exec.composeFile() != null) {
            argv.addAll(List.of("-f", exec.composeFile().toString()));
        }
        argv.addAll(words);
        return argv;
    }

    /** A command inside the database's container ({@code exec -T SERVICE} or {@code docker exec CONTAINER}). */
    public List<String> inContainer(ExecSettings exec, List<String> command) {
        List<String> argv = new ArrayList<>();
        if (exec.mode() == ExecMode.COMPOSE) {
            argv.addAll(argv(exec, List.of("exec", "-T", exec.composeService())));
        } else {
            // -i: a command may read stdin (tee writing a file the tools read); df gets /dev/null.
            argv.addAll(List.of(exec.dockerBinary(), "exec", "-i", exec.container()));
        }
        argv.addAll(command);
        return argv;
    }

    /**
     * The v2 plugin when {@code docker compose version} answers, else the v1 tool when
     * {@code docker-compose} is on the PATH, else v2 (whose failure then names the command to install).
     */
    public static ComposeFrontEnd detect(String dockerBinary, ProcessRunner runner) {
        String forced = runner.baseEnv().get(ENV);
        if (forced != null && !forced.isBlank()) {
            return parse(forced);
        }
        try {
            if (runner.execute(ProcessSpec.of(dockerBinary, "compose", "version").withTimeout(Duration.ofSeconds(20))).succeeded()) {
                return V2;
            }
        } catch (RuntimeException e) {
            // no docker client at all: v1 may still be there
        }
        // The binary found in the environment the children get: the same one then runs.
        Path v1 = onPath("docker-compose", runner.baseEnv().get("PATH"));
        return v1 == null ? V2 : new ComposeFrontEnd(1, v1.toString());
    }

    static ComposeFrontEnd parse(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "v2", "docker compose" -> V2;
            case "v1", "docker-compose" -> V1;
            default -> throw ChronoException.usage(ENV + "=" + text + " is not a compose front end",
                    "use v2 (docker compose) or v1 (docker-compose), or leave it unset to detect");
        };
    }

    private static Path onPath(String name, String path) {
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return Path.of(dir, name).toAbsolutePath();
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return command() + (version == 1 && !v1Binary.equals("docker-compose") ? " (" + v1Binary + ")" : "");
    }
}
