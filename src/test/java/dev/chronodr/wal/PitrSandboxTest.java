package dev.chronodr.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgClusterAccess;

/**
 * Point-in-time recovery on the sandbox as a newcomer runs it, as root, with the server
 * running as the postgres OS user: pitr setup must leave an archive that user can write
 * (the sandbox's repository is root's, 0700), or refuse with the reason.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PitrSandboxTest {
    private Path parent;
    private Path launcher;
    private final Map<String, String> env = new HashMap<>(System.getenv());

    @BeforeAll
    void start() throws Exception {
        Assumptions.assumeTrue(PgClusterAccess.hasLocalBinaries(), "needs local PostgreSQL server binaries");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "the case of a root chrono-dr and a postgres server");
        parent = Files.createTempDirectory("chrono-dr-pitr-sandbox-");
        Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwx--x--x"));
        launcher = dev.chronodr.testing.ServerLauncher.write(parent);
        env.keySet().removeIf(k -> k.startsWith("PG") || k.startsWith("CHRONO_DR_"));
        env.put("CHRONO_DR_SANDBOX", parent.resolve("sb").toString());
        CliRun r = cli("sandbox", "start");
        assertEquals(0, r.exitCode(), r::toString);
    }

    @AfterAll
    void stop() {
        if (parent != null) {
            cli("sandbox", "remove");
            Repository.deleteQuietly(parent);
        }
    }

    @Test
    @Order(1)
    void setupRefusesAnArchiveTheServerCannotReachAndChangesNothing() throws Exception {
        Path closed = Files.createDirectories(parent.resolve("closed"));
        Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rwx------"));
        Path repo = closed.resolve("repo");
        CliRun show = cli("pitr", "setup", "--sandbox", "--repo", repo.toString(), "--command", launcher.toString());
        assertEquals(0, show.exitCode(), show::toString);
        assertTrue(show.out().contains("--apply would refuse: OS user postgres") && show.out().contains("cannot enter " + closed), show::toString);

        CliRun apply = cli("pitr", "setup", "--sandbox", "--apply", "--repo", repo.toString(), "--command", launcher.toString());
        assertEquals(1, apply.exitCode(), apply::toString);
        assertTrue(apply.err().contains("cannot enter " + closed) && apply.err().contains("no setting was changed"), apply::toString);
        JsonNode after = cli("pitr", "setup", "--sandbox", "--format", "json", "--command", launcher.toString()).json();
        for (JsonNode s : after.path("settings")) {
            if (s.path("name").asText().equals("archive_mode")) {
                assertEquals("off", s.path("current").asText(), "archiving was not switched on");
            }
        }
    }

    @Test
    @Order(2)
    void setupGivesTheArchiveToTheServersUserAndAPhysicalBackupSucceeds() throws Exception {
        CliRun setup = cli("pitr", "setup", "--sandbox", "--apply", "--command", launcher.toString(), "--format", "json");
        assertEquals(0, setup.exitCode(), setup::toString);
        assertEquals("postgres", setup.json().path("server_os_user").asText(), setup::toString);
        Path wal = Path.of(setup.json().path("archive").asText());
        assertEquals("postgres", Files.getOwner(wal).getName());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(wal)));
        assertEquals("rwx--x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(wal.getParent())),
                "the repository: its group (postgres's) may pass, no one else may list or enter it");

        assertEquals(0, cli("sandbox", "stop").exitCode());
        assertEquals(0, cli("sandbox", "start").exitCode());
        long t0 = System.nanoTime();
        CliRun backup = cli("backup", "--sandbox", "--type", "physical", "--format", "json");
        assertEquals(0, backup.exitCode(), backup::toString);
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 120, "no wait for an archive that never comes");
        assertTrue(new WalArchive(wal.getParent()).contains(backup.json().path("pitr").path("stop_wal_file").asText()));
    }

    private CliRun cli(String... args) {
        return CliRun.run(env, parent, args);
    }
}
