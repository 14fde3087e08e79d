package dev.chronodr.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * A drill whose restored copy is held by another session once the restore has loaded it:
 * the checks give up at --statement-timeout, the drill reports ERROR and exits 3 within a
 * bounded time, and its scratch database is still removed.
 */
@PostgresTest
class DrillCheckTimeoutTest {
    private static final String DB = "drill_hold";
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aCopyHeldAfterTheRestoreEndsTheChecksAtTheTimeoutWithExit3(PgCluster pg) throws Exception {
        pg.execute("postgres", "DROP DATABASE IF EXISTS " + DB + " WITH (FORCE)");
        pg.createDatabase(DB);
        // The wide table's indexes are built after every table's data is in: time to take the small table's lock
        // once its rows are committed and before the checks start. The small one has nothing built after its data.
        pg.execute(DB, "CREATE TABLE wide (id int, a text, b text); "
                + "INSERT INTO wide SELECT g, md5(g::text), md5((g * 7)::text) FROM generate_series(1, 300000) g; "
                + "CREATE INDEX ON wide (a); CREATE INDEX ON wide (b); CREATE INDEX ON wide (a, b); CREATE INDEX ON wide (b, a); "
                + "CREATE TABLE zz_hold (id int); INSERT INTO zz_hold SELECT generate_series(1, 10)");
        Path config = Files.writeString(dir.resolve("c.yaml"), """
                targets:
                  hold:
                    host: 127.0.0.1
                    port: %d
                    dbname: %s
                    user: postgres
                """.formatted(pg.port(), DB));
        Map<String, String> env = new HashMap<>(pg.env(DB));
        env.keySet().removeIf(k -> k.startsWith("PG") && !k.equals("PGPASSWORD"));
        Path repo = dir.resolve("repo");
        CliRun backup = CliRun.run(env, dir, "backup", "--config", config.toString(), "--repo", repo.toString());
        assertEquals(0, backup.exitCode(), backup::toString);

        for (int attempt = 1; attempt <= 3; attempt++) {
            long t0 = System.nanoTime();
            CompletableFuture<CliRun> drill = CompletableFuture.supplyAsync(() -> CliRun.run(env, dir, "dr-test", "--config", config.toString(),
                    "--repo", repo.toString(), "--latest", "--statement-timeout", "2s", "--format", "json"));
            Connection holder = holdWhenLoaded(pg, drill);
            CliRun r = drill.get(3, TimeUnit.MINUTES);
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
            closeQuietly(holder);
            if (holder == null || r.exitCode() == 0) {
                continue; // the lock came after the checks had read the table: nothing was proven, try again
            }
            assertEquals(3, r.exitCode(), r::toString);
            JsonNode rowCounts = step(r.json(), "row-counts");
            assertEquals("ERROR", rowCounts.get("outcome").asText(), rowCounts.toString());
            assertTrue(rowCounts.get("message").asText().startsWith("could not count rows: ")
                    && rowCounts.get("message").asText().endsWith("(--statement-timeout 2.0 s)"), rowCounts.toString());
            for (JsonNode s : r.json().get("steps")) {
                assertTrue(!s.get("outcome").asText().equals("FAILED"), "a wait is no verdict on the backup: " + s);
            }
            assertTrue(seconds < 120, "the drill ended at the bounds, not later: " + seconds + " s");
            assertEquals(List.of(), pg.query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE '" + DB + "_dr_test_%'"),
                    "the scratch database is removed all the same");
            return;
        }
        throw new AssertionError("no attempt held the restored table before the checks read it");
    }

    /** Waits for the scratch copy's zz_hold to hold its rows, then takes it; null if the drill ended first. */
    private static Connection holdWhenLoaded(PgCluster pg, CompletableFuture<CliRun> drill) throws Exception {
        while (!drill.isDone()) {
            List<Map<String, Object>> scratch = pg.query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE '" + DB + "_dr_test_%'");
            if (!scratch.isEmpty()) {
                Connection c = null;
                try {
                    c = pg.connect((String) scratch.get(0).get("datname"));
                    c.setAutoCommit(false);
                    try (Statement st = c.createStatement()) {
                        st.execute("SET lock_timeout = '100ms'");
                        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM zz_hold")) {
                            if (rs.next() && rs.getLong(1) == 10) {
                                st.execute("LOCK TABLE zz_hold IN ACCESS EXCLUSIVE MODE NOWAIT");
                                return c;
                            }
                        }
                    }
                    c.rollback();
                } catch (SQLException | RuntimeException notYet) {
                    // not created, not loaded, or not lockable yet
                }
                closeQuietly(c);
            }
            Thread.sleep(10);
        }
        return null;
    }

    private static JsonNode step(JsonNode report, String name) {
        for (JsonNode s : report.get("steps")) {
            if (s.get("name").asText().equals(name)) {
                return s;
            }
        }
        throw new AssertionError("no step " + name + ": " + report);
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException | RuntimeException ignored) {
                // the drill's DROP ... WITH (FORCE) may have ended it already
            }
        }
    }
}
