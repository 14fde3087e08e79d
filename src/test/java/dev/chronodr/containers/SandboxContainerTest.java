package dev.chronodr.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.DockerEngine;
import dev.chronodr.testing.DockerTest;

/**
 * The sandbox with its server in a container ({@code sandbox start --image}): a PostgreSQL 17
 * sandbox on a host whose own binaries are 15, the main job and the drill against it with the
 * container's own tools, stop and start keeping the data, and remove leaving no container or
 * volume. A bad image leaves nothing behind.
 */
@DockerTest(postgres = {17})
class SandboxContainerTest {
    private Path parent;
    private Map<String, String> env;

    @BeforeEach
    void setUp() throws Exception {
        parent = Files.createTempDirectory("chrono-dr-sandbox-container-");
        Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwx------"));
        env = new HashMap<>(System.getenv());
        env.keySet().removeIf(k -> k.startsWith("PG") || k.startsWith("CHRONO_DR_"));
        env.put("CHRONO_DR_SANDBOX", parent.resolve("sb").toString());
    }

    @AfterEach
    void tearDown() {
        CliRun.run(env, parent, "sandbox", "remove");
        deleteTree(parent);
    }

    @Test
    void aPostgres17SandboxInAContainerRunsTheMainJobAndTheDrill() {
        CliRun start = CliRun.run(env, parent, "sandbox", "start", "--image", DockerEngine.postgresImage(17), "--format", "json");
        assertEquals(0, start.exitCode(), start.toString());
        JsonNode sb = start.json().get("sandbox");
        String container = sb.get("container").asText();
        assertTrue(sb.get("server_version").asText().startsWith("17"), start.out());
        assertTrue(running(container), "the container runs");
        String password = readPassword();
        assertFalse(docker("inspect", "--format", "{{json .Args}} {{json .Path}}", container).stdout().contains(password),
                "the password is not in the container's command line");

        CliRun backup = CliRun.run(env, parent, "backup", "--sandbox", "--format", "json");
        assertEquals(0, backup.exitCode(), backup.toString());
        JsonNode m = backup.json().get("manifest");
        assertTrue(m.get("server_version").asText().startsWith("17"), backup.out());
        assertTrue(m.get("pg_dump_version").asText().contains("docker"), "taken by the container's pg_dump: " + backup.out());
        long users = m.get("tables").findValues("rows").isEmpty() ? -1 : rows(m, "users");
        assertTrue(users > 0, backup.out());

        CliRun drill = CliRun.run(env, parent, "dr-test", "--sandbox", "--latest");
        assertEquals(0, drill.exitCode(), drill.toString());

        CliRun stop = CliRun.run(env, parent, "sandbox", "stop");
        assertEquals(0, stop.exitCode(), stop.toString());
        assertFalse(running(container), "stopped");
        CliRun again = CliRun.run(env, parent, "sandbox", "start");
        assertEquals(0, again.exitCode(), again.toString());
        assertTrue(running(container), "started again");
        CliRun check = CliRun.run(env, parent, "list", "--sandbox", "--format", "json");
        assertEquals(0, check.exitCode(), check.toString());
        assertEquals(1, check.json().get("backups").size(), check.out());

        CliRun remove = CliRun.run(env, parent, "sandbox", "remove");
        assertEquals(0, remove.exitCode(), remove.toString());
        assertFalse(docker("container", "inspect", container).succeeded(), "no container left");
        assertFalse(docker("volume", "inspect", container).succeeded(), "no volume left");
        assertFalse(Files.exists(parent.resolve("sb")), "no sandbox home left");
    }

    @Test
    void anImageThatIsNotThereIsRefusedAndLeavesNothing() {
        CliRun start = CliRun.run(env, parent, "sandbox", "start", "--image", "chrono-dr-test/no-such-image:1");
        assertEquals(64, start.exitCode(), start.toString());
        assertTrue(start.err().contains("no image chrono-dr-test/no-such-image:1"), start.err());
        assertFalse(Files.exists(parent.resolve("sb/sandbox.json")), "no sandbox state");
        CliRun status = CliRun.run(env, parent, "sandbox", "status", "--format", "json");
        assertFalse(status.json().get("exists").asBoolean(), status.out());
    }

    private static void deleteTree(Path p) {
        try (var walk = Files.walk(p)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (java.io.IOException e) {
            // best effort: a temporary directory
        }
    }

    private static long rows(JsonNode manifest, String table) {
        for (JsonNode t : manifest.get("tables")) {
            if (t.get("name").asText().equals(table)) {
                return t.get("rows").asLong();
            }
        }
        return -1;
    }

    private String readPassword() {
        try {
            return Files.readString(parent.resolve("sb/password")).strip();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean running(String container) {
        ProcessResult r = docker("container", "inspect", "--format", "{{.State.Running}}", container);
        return r.succeeded() && r.stdout().strip().equals("true");
    }

    private static ProcessResult docker(String... args) {
        List<String> argv = new java.util.ArrayList<>(List.of("docker"));
        argv.addAll(List.of(args));
        return new ProcessRunner(System.getenv()).execute(ProcessSpec.of(argv));
    }
}
