package dev.chronodr.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.DockerTest;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.TunedPgContainer;

/**
 * What differs between PostgreSQL majors, checked by outcome on a real server of each
 * (subclasses pick 15 or 17), reached over TCP on the published port with PGPASSWORD:
 * pg_stat_statements' renamed timing columns (extension 1.10 on 15, 1.11 on 17) and the
 * amcheck versions behind verify's btree and heap checks (1.3 on 15, 1.4 on 17). One
 * container per class, started with pg_stat_statements preloaded and stopped after it.
 */
@DockerTest(postgres = {15, 17})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class VersionDifferencesTest {
    static final String DB = "shop";

    TunedPgContainer pg;
    Path dir;

    abstract int major();

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("chrono-dr-versions-");
        pg = TunedPgContainer.start(major(), "shared_preload_libraries=pg_stat_statements");
        cluster().createDemoDatabase(DB);
        assertEquals(major(), ((Number) cluster().scalar(DB, "SELECT current_setting('server_version_num')::int / 10000")).intValue());
    }

    @AfterAll
    void stop() throws Exception {
        if (pg != null) {
            pg.close();
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    PgCluster cluster() {
        return pg.cluster();
    }

    @Test
    void slowStatementsReportsTheSlowStatementWithItsMeanTime() {
        cluster().execute(DB, """
                CREATE EXTENSION pg_stat_statements;
                CREATE FUNCTION chrono_slow() RETURNS void LANGUAGE sql AS 'SELECT pg_sleep(0.2)';
                """);
        for (int i = 0; i < 5; i++) {
            cluster().execute(DB, "SELECT chrono_slow()");
        }

        // Warning at 100 ms: a mean of about 200 ms read from the right column is a WARNING (exit 1).
        CliRun m = CliRun.run(cluster().env(DB), dir, "monitor", "--check", "slow_statements",
                "--warning", "slow_statement=100ms", "--format", "json");
        assertEquals(1, m.exitCode(), m.toString());
        JsonNode check = check(m.json(), "slow_statements");
        assertEquals("WARNING", check.get("status").asText(), check.toString());
        assertTrue(check.get("message").asText().contains("chrono_slow()"), check.toString());
        JsonNode slowest = check.get("items").get(0);
        assertEquals("SELECT chrono_slow()", slowest.get("query").asText(), check.toString());
        assertEquals(5, slowest.get("calls").asLong(), check.toString());
        double mean = slowest.get("mean_ms").asDouble();
        assertTrue(mean >= 190, "mean of pg_sleep(0.2): " + mean);
        assertTrue(slowest.get("total_ms").asDouble() >= 5 * 190, check.toString());
    }

    @Test
    void adviseListsTheStatementsWithTheMostTimeFromThisVersionsColumns() {
        cluster().execute(DB, """
                CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
                CREATE OR REPLACE FUNCTION chrono_costly() RETURNS void LANGUAGE sql AS 'SELECT pg_sleep(0.3)';
                """);
        for (int i = 0; i < 3; i++) {
            cluster().execute(DB, "SELECT chrono_costly()");
        }
        CliRun a = CliRun.run(cluster().env(DB), dir, "advise", "--format", "json", "--statements", "50");
        JsonNode slow = null;
        for (JsonNode n : a.json().get("advice")) {
            if (n.get("kind").asText().equals("SLOW_STATEMENT") && n.get("object").asText().equals("SELECT chrono_costly()")) {
                slow = n;
            }
        }
        assertTrue(slow != null, a.toString());
        assertTrue(slow.get("detail").asText().startsWith("3 calls, ") && slow.get("detail").asText().contains("(total_exec_time)"),
                slow.toString());
        assertTrue(slow.get("fix").asText().contains("EXPLAIN (ANALYZE, BUFFERS) SELECT chrono_costly()"), slow.toString());
    }

    @Test
    void checkpointsAreCountedFromTheViewThisVersionKeepsThem() {
        // Requested checkpoints, each with something to write: 100% requested once there are enough to judge.
        for (int i = 0; i < CHECKPOINTS; i++) {
            cluster().execute(DB, "CREATE TABLE IF NOT EXISTS chk(i int); INSERT INTO chk VALUES (" + i + "); CHECKPOINT");
        }
        CliRun m = CliRun.run(cluster().env(DB), dir, "monitor", "--check", "checkpoints", "--format", "json");
        JsonNode check = check(m.json(), "checkpoints");
        JsonNode item = check.get("items").get(0);
        assertEquals(major() >= 17 ? "pg_stat_checkpointer" : "pg_stat_bgwriter", item.get("source").asText(), check.toString());
        assertTrue(item.get("requested").asLong() >= CHECKPOINTS, check.toString());
        assertEquals("CRITICAL", check.get("status").asText(), check.toString());
        assertEquals(2, m.exitCode(), m.toString());
        assertTrue(check.get("message").asText().contains("raise max_wal_size"), check.toString());
    }

    private static final int CHECKPOINTS = 12;

    @Test
    void verifyRunsTheAmcheckBtreeAndHeapChecksAndPassesAHealthyDatabase() {
        CliRun v = CliRun.run(cluster().env(DB), dir, "verify", "--format", "json");
        assertEquals(0, v.exitCode(), v.toString());
        for (String name : new String[] {"btree", "heap"}) {
            JsonNode c = check(v.json(), name);
            assertEquals("OK", c.get("status").asText(), c.toString());
            assertTrue(c.get("checked").asLong() > 0, "it checked something, it did not skip: " + c);
        }
        String expected = major() >= 17 ? "1.4" : "1.3";
        assertEquals(expected, cluster().scalar(DB, "SELECT extversion FROM pg_extension WHERE extname = 'amcheck'"),
                "verify created this server's amcheck");
    }

    static JsonNode check(JsonNode report, String name) {
        for (JsonNode c : report.get("checks")) {
            if (name.equals(c.get("name").asText())) {
                return c;
            }
        }
        assertNotNull(null, "no check " + name + " in " + report);
        return null;
    }
}
