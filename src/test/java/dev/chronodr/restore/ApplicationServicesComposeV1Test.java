package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.process.ProcessRunner;

/**
 * With only docker-compose v1 on the machine, the services around a restore go through it,
 * and the health wait asks "ps -q" and docker inspect (v1's ps has no --format: the old
 * wait polled it until its timeout and reported the service NOT healthy).
 */
class ApplicationServicesComposeV1Test {
    @TempDir
    Path dir;

    @Test
    void stopStartAndHealthThroughDockerComposeV1() throws Exception {
        Path log = dir.resolve("calls.log");
        // docker: no compose plugin; inspect answers "healthy" for the id v1's ps -q gave.
        script("docker", """
                echo "docker $*" >> '%s'
                [ "$1" = compose ] && exit 1
                [ "$1" = inspect ] && [ "$4" = abc123 ] && { echo healthy; exit 0; }
                exit 2""".formatted(log));
        script("docker-compose", """
                echo "docker-compose $*" >> '%s'
                [ "$3" = ps ] && [ "$4" = -q ] && echo abc123
                exit 0""".formatted(log));
        ApplicationServices.Config c = new ApplicationServices.Config();
        c.stop = List.of("backend", "frontend");
        ApplicationServices.Start backend = new ApplicationServices.Start();
        backend.name = "backend";
        backend.wait_healthy = true;
        backend.health_timeout_seconds = 5;
        c.start = List.of(backend);
        ExecSettings exec = new ExecSettings(ExecMode.COMPOSE, "postgres", Path.of("/srv/dc.yml"), null, null, 5432,
                dir.resolve("docker").toString());
        ApplicationServices s = new ApplicationServices(c, exec, new ProcessRunner(Map.of("PATH", dir.toString())));
        s.stop();
        s.start();
        assertEquals(List.of("stopped backend, frontend (docker-compose stop)", "started backend, healthy"), s.log());
        List<String> calls = Files.readAllLines(log).stream().filter(l -> !l.startsWith("docker compose")).toList();
        assertEquals(List.of("docker-compose -f /srv/dc.yml stop backend frontend", "docker-compose -f /srv/dc.yml up -d backend",
                "docker-compose -f /srv/dc.yml ps -q backend",
                "docker inspect --format {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} abc123"), calls);
    }

    @Test
    void theNextStepSaysToRestartTheApplicationsOnlyWhenChronoDrDidNot() {
        ExecSettings compose = new ExecSettings(ExecMode.COMPOSE, "postgres", Path.of("/srv/dc.yml"), null, null, 5432, "docker");
        ExecSettings local = new ExecSettings(ExecMode.LOCAL, null, null, null, null, 5432, "docker");
        ProcessRunner runner = new ProcessRunner(Map.of());
        ApplicationServices.Config none = new ApplicationServices.Config();
        assertEquals("restart the applications that use shop (their sessions were ended)",
                new ApplicationServices(none, compose, runner).nextStep("shop", " (their sessions were ended)"));

        ApplicationServices.Config stopped = new ApplicationServices.Config();
        stopped.stop = List.of("backend");
        assertEquals("check that the applications that use shop reconnected (chrono-dr restarted them: see the notes)",
                new ApplicationServices(stopped, compose, runner).nextStep("shop", ""));
        assertEquals("restart the applications that use shop", new ApplicationServices(stopped, local, runner).nextStep("shop", ""),
                "services.stop acts in compose mode only");

        ApplicationServices.Config commands = new ApplicationServices.Config();
        commands.start_command = List.of("systemctl", "start", "app");
        assertEquals(true, new ApplicationServices(commands, local, runner).restartsApplications());
    }

    private void script(String name, String body) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
    }
}
