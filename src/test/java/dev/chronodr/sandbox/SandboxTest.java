package dev.chronodr.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIf;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;

/** The sandbox life cycle, as a newcomer runs it, in a directory of its own. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@EnabledIf("hasServer")
class SandboxTest {
    static Path parent;
    static Map<String, String> env;

    static boolean hasServer() {
        return dev.chronodr.testing.PgClusterAccess.hasLocalBinaries();
    }

    @BeforeAll
    static void setUp() throws Exception {
        parent = Files.createTempDirectory("chrono-dr-sandbox-test-");
        Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwx--x--x"));
        env = new HashMap<>(System.getenv());
        env.keySet().removeIf(k -> k.startsWith("PG") || k.startsWith("CHRONO_DR_"));
        env.put("CHRONO_DR_SANDBOX", parent.resolve("sb").toString());
    }

    @AfterAll
    static void tearDown() throws Exception {
        CliRun.run(env, parent, "sandbox", "remove");
        LocalCluster.deleteTree(parent);
    }

    @Test
    @Order(1)
    void statusBeforeStart() {
        CliRun r = CliRun.run(env, parent, "sandbox", "status", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        assertFalse(r.json().get("exists").asBoolean());
        CliRun check = CliRun.run(env, parent, "check", "--sandbox");
        assertEquals(64, check.exitCode());
        assertTrue(check.err().contains("chrono-dr sandbox start"), check.err());
    }

    @Test
    @Order(2)
    void startSeedsTheDemoDatabase() {
        CliRun r = CliRun.run(env, parent, "sandbox", "start", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        JsonNode s = r.json().get("sandbox");
        assertTrue(r.json().get("running").asBoolean());
        Path pw = Path.of(s.get("password_file").asText());
        assertTrue(Files.isRegularFile(pw));
        CliRun check = CliRun.run(env, parent, "check", "--sandbox", "--format", "json");
        assertEquals(0, check.exitCode(), check.toString());
        assertEquals("chrono_scraper", check.json().at("/server/database").asText());
        assertTrue(check.json().at("/server/database_size_bytes").asLong() > 10_000_000L, "a few tens of MB");
        assertEquals(s.get("repo").asText(), check.json().at("/repository/path").asText());
        assertFalse(r.out().contains(readQuietly(pw)), "the password is never printed");
    }

    @Test
    @Order(3)
    void demoDataHasTheApplicationsShape() throws Exception {
        SandboxState s = Sandbox.at(new dev.chronodr.core.Environment(env, parent)).state().orElseThrow();
        var conn = new dev.chronodr.pg.ConnectionSettings("127.0.0.1", s.port(), s.dbname(), s.user(),
                dev.chronodr.core.Secret.of(readQuietly(Path.of(s.passwordFile())).strip()), "disable");
        try (var c = dev.chronodr.pg.Database.connect(conn); var st = c.createStatement()) {
            var rs = st.executeQuery("""
                    SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM pages), (SELECT count(*) FROM scrape_pages),
                           (SELECT count(*) FROM pg_constraint WHERE contype = 'f'),
                           (SELECT count(*) FROM scrape_pages sp LEFT JOIN domains d ON sp.domain_id = d.id WHERE d.id IS NULL)
                    """);
            rs.next();
            assertEquals(200, rs.getLong(1));
            assertEquals(8000, rs.getLong(2));
            assertEquals(12000, rs.getLong(3));
            assertEquals(5, rs.getLong(4));
            assertEquals(0, rs.getLong(5));
        }
    }

    @Test
    @Order(4)
    void stopAndStartAgainKeepsTheData() {
        assertEquals(0, CliRun.run(env, parent, "sandbox", "stop").exitCode());
        CliRun down = CliRun.run(env, parent, "check", "--sandbox");
        assertEquals(2, down.exitCode(), down.toString());
        CliRun again = CliRun.run(env, parent, "sandbox", "start");
        assertEquals(0, again.exitCode(), again.toString());
        assertTrue(again.out().contains("sandbox: started"), again.out());
        assertEquals(0, CliRun.run(env, parent, "check", "--sandbox").exitCode());
    }

    @Test
    @Order(5)
    void removeDeletesEverything() {
        CliRun r = CliRun.run(env, parent, "sandbox", "remove");
        assertEquals(0, r.exitCode());
        assertFalse(Files.exists(parent.resolve("sb")));
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
