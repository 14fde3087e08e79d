package dev.chronodr.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.process.ProcessRunner;

/** Which compose front end runs: the v2 plugin when it answers, else v1 on the PATH, else v2. */
class ComposeFrontEndTest {
    @TempDir
    Path dir;

    private Path script(String name, String body) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    @Test
    void thePluginWinsWhenItAnswers() throws Exception {
        Path docker = script("docker", "[ \"$1 $2\" = \"compose version\" ] && exit 0; exit 1");
        script("docker-compose", "exit 0");
        assertEquals(ComposeFrontEnd.V2, ComposeFrontEnd.detect(docker.toString(), new ProcessRunner(Map.of("PATH", dir.toString()))));
    }

    @Test
    void withoutThePluginTheV1ToolOnThePathIsUsed() throws Exception {
        // A docker client without the compose plugin, as Debian's docker.io on bookworm.
        Path docker = script("docker", "echo \"docker: unknown command: docker compose\" >&2; exit 1");
        script("docker-compose", "exit 0");
        ComposeFrontEnd v1 = ComposeFrontEnd.detect(docker.toString(), new ProcessRunner(Map.of("PATH", dir.toString())));
        assertEquals(1, v1.version());
        // The one found in the children's PATH is the one that runs, by its full path.
        assertEquals(List.of(dir.resolve("docker-compose").toString(), "exec", "-T", "postgres", "df"),
                v1.inContainer(new ExecSettings(ExecMode.COMPOSE, "postgres", null, null, null, 5432, docker.toString()), List.of("df")));
    }

    @Test
    void neitherMeansV2SoTheErrorNamesTheCurrentCommand() throws Exception {
        Path docker = script("docker", "exit 1");
        assertEquals(ComposeFrontEnd.V2, ComposeFrontEnd.detect(docker.toString(), new ProcessRunner(Map.of("PATH", dir.resolve("none").toString()))));
        assertEquals(ComposeFrontEnd.V2, ComposeFrontEnd.detect(dir.resolve("no-docker").toString(), new ProcessRunner(Map.of())));
    }

    @Test
    void theEnvironmentOverridesTheDetection() throws Exception {
        Path docker = script("docker", "exit 0");
        assertEquals(1, ComposeFrontEnd.detect(docker.toString(), new ProcessRunner(Map.of(ComposeFrontEnd.ENV, "v1"))).version());
        assertEquals(ComposeFrontEnd.V2, ComposeFrontEnd.detect(docker.toString(), new ProcessRunner(Map.of(ComposeFrontEnd.ENV, "docker compose"))));
        ChronoException e = assertThrows(ChronoException.class,
                () -> ComposeFrontEnd.detect(docker.toString(), new ProcessRunner(Map.of(ComposeFrontEnd.ENV, "v3"))));
        assertEquals(dev.chronodr.core.ExitCode.USAGE, e.exitCode());
    }
}
