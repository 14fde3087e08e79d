package dev.chronodr.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * Conditions that need the server reconfigured, restarted, replicated or stopped, in one
 * cluster, in order: pg_stat_statements (not loaded, then loaded, old and new column
 * names), failing WAL archiving, a slot holding WAL, a streaming standby, and at the end a
 * stopped server.
 */
@PostgresTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MonitorServerTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    MonitorServerTest(PgCluster pg) {
        this.pg = pg;
    }

    private CliRun monitor(Map<String, String> env, String... args) {
        List<String> all = new ArrayList<>(List.of("monitor"));
        all.addAll(List.of(args));
        return CliRun.run(env, dir, all.toArray(String[]::new));
    }

    private static JsonNode check(CliRun r, String name) {
        for (JsonNode c : r.json().get("checks")) {
            if (c.get("name").asText().equals(name)) {
                return c;
            }
        }
        throw new AssertionError("no check " + name + " in " + r);
    }

    private static void waitFor(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(100);
        }
    }

    private long number(String db, String sql) {
        return ((Number) pg.scalar(db, sql)).longValue();
    }

    @Test
    @Order(1)
    void pgStatStatementsNotInstalledOrNotLoaded() {
        pg.createDatabase("plain");
        CliRun skipped = monitor(pg.env("plain"), "--format", "json", "--check", "slow_statements");
        assertEquals(0, skipped.exitCode(), skipped.toString());
        assertEquals("SKIPPED", check(skipped, "slow_statements").get("status").asText());

        pg.createDatabase("stmts");
        pg.execute("stmts", "CREATE EXTENSION pg_stat_statements");
        CliRun unloaded = monitor(pg.env("stmts"), "--format", "json", "--check", "slow_statements,connection");
        assertEquals(3, unloaded.exitCode(), unloaded.toString());
        JsonNode c = check(unloaded, "slow_statements");
        assertEquals("UNKNOWN", c.get("status").asText());
        assertTrue(c.get("message").asText().contains("shared_preload_libraries"), c.toString());
    }

    @Test
    @Order(2)
    void slowStatementsWithTheColumnsOfEachExtensionVersion() throws Exception {
        pg.execute("postgres", "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
        pg.execute("postgres", "ALTER SYSTEM SET archive_mode = 'on'");
        pg.execute("postgres", "ALTER SYSTEM SET archive_command = 'false'");
        pg.restart();
        try (Connection c = pg.connect("stmts"); Statement st = c.createStatement()) {
            for (int i = 0; i < 5; i++) {
                st.execute("SELECT pg_sleep(0.05)");
            }
        }
        CliRun warn = monitor(pg.env("stmts"), "--format", "json", "--check", "slow_statements",
                "--warning", "slow_statement=20ms", "--critical", "slow_statement=10s");
        assertEquals(1, warn.exitCode(), warn.toString());
        JsonNode c = check(warn, "slow_statements");
        assertEquals("WARNING", c.get("status").asText());
        assertTrue(c.get("message").asText().contains("pg_sleep"), c.toString());
        assertTrue(c.at("/items/0/mean_ms").asDouble() >= 40, c.toString());
        assertEquals(5, c.at("/items/0/calls").asInt());
        String installed = (String) pg.scalar("stmts", "SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'");
        assertTrue(SlowStatementsCheck.atLeast(installed, 1, 8), installed);

        // As after pg_upgrade without ALTER EXTENSION UPDATE: the 1.7 view has total_time and mean_time.
        pg.createDatabase("stmts_old");
        pg.execute("stmts_old", "CREATE EXTENSION pg_stat_statements VERSION '1.7'");
        assertEquals("1.7", pg.scalar("stmts_old", "SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'"));
        assertEquals(1L, number("stmts_old", "SELECT count(*) FROM information_schema.columns WHERE table_name = 'pg_stat_statements' AND column_name = 'mean_time'"));
        CliRun old = monitor(pg.env("stmts_old"), "--format", "json", "--check", "slow_statements",
                "--warning", "slow_statement=20ms", "--critical", "slow_statement=10s");
        assertEquals(1, old.exitCode(), old.toString());
        assertTrue(check(old, "slow_statements").get("message").asText().contains("pg_sleep"), old.toString());
    }

    @Test
    @Order(3)
    void failingArchivingIsCriticalUntilItRecovers() throws Exception {
        pg.execute("postgres", "CREATE TABLE wal_maker AS SELECT g FROM generate_series(1, 1000) g");
        pg.execute("postgres", "SELECT pg_switch_wal()");
        waitFor("an archive failure", () -> number("postgres", "SELECT failed_count FROM pg_stat_archiver") > 0);
        CliRun failing = monitor(pg.env("postgres"), "--format", "json", "--check", "archiving");
        assertEquals(2, failing.exitCode(), failing.toString());
        JsonNode c = check(failing, "archiving");
        assertEquals("CRITICAL", c.get("status").asText());
        assertTrue(c.get("message").asText().startsWith("WAL archiving is failing"), c.toString());

        pg.execute("postgres", "ALTER SYSTEM SET archive_command = 'true'");
        pg.execute("postgres", "SELECT pg_reload_conf()");
        waitFor("archiving to recover", () -> Boolean.TRUE.equals(pg.scalar("postgres",
                "SELECT last_archived_time > last_failed_time FROM pg_stat_archiver")));
        CliRun ok = monitor(pg.env("postgres"), "--format", "json", "--check", "archiving");
        assertEquals(0, ok.exitCode(), ok.toString());
        assertTrue(check(ok, "archiving").get("message").asText().contains("since recovered"), ok.toString());
    }

    @Test
    @Order(4)
    void aSlotHoldingWalIsReported() throws Exception {
        pg.execute("postgres", "SELECT pg_create_physical_replication_slot('held_back', true)");
        try {
            pg.execute("postgres", "INSERT INTO wal_maker SELECT g FROM generate_series(1, 10000) g");
            pg.execute("postgres", "SELECT pg_switch_wal()");
            CliRun r = monitor(pg.env("postgres"), "--format", "json", "--check", "replication_slots",
                    "--warning", "slot_retained_wal=1kB", "--critical", "slot_retained_wal=1TB");
            assertEquals(1, r.exitCode(), r.toString());
            JsonNode c = check(r, "replication_slots");
            assertTrue(c.get("message").asText().contains("slot held_back (physical, inactive"), c.toString());
            assertTrue(c.at("/items/0/retained_bytes").asLong() > 1024, c.toString());
        } finally {
            pg.execute("postgres", "SELECT pg_drop_replication_slot('held_back')");
        }
    }

    @Test
    @Order(5)
    void aCaughtUpStandbyOfAnIdlePrimaryHasNoLag() throws Exception {
        LocalCluster primary = pg.assumeLocal();
        Path base = primary.base().getParent().resolve("standby");
        Files.createDirectories(base);
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx------"));
        boolean root = "root".equals(System.getProperty("user.name"));
        if (root) {
            Files.setOwner(base, base.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres"));
        }
        List<String> argv = new ArrayList<>();
        if (root) {
            argv.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        argv.addAll(List.of(primary.bin().resolve("pg_basebackup").toString(), "-D", base.resolve("data").toString(),
                "-h", "127.0.0.1", "-p", String.valueOf(pg.port()), "-U", pg.superuser(), "-X", "stream", "-R", "--no-sync", "--checkpoint=fast"));
        ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
        runner.run(ProcessSpec.of(argv).withEnv(Map.of("PGPASSWORD", pg.password().reveal())).withTimeout(Duration.ofMinutes(2)));
        int port = LocalCluster.freePort();
        Files.writeString(base.resolve("data/postgresql.conf"), "\nport = " + port + "\ncluster_name = 'standby1'\n",
                StandardOpenOption.APPEND);
        LocalCluster standby = LocalCluster.open(base, primary.bin(), port, pg.password(), runner);
        try {
            standby.start();
            waitFor("the standby to stream", () -> number("postgres",
                    "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'standby1' AND state = 'streaming'") == 1);
            CliRun onPrimary = monitor(pg.env("postgres"), "--format", "json", "--check", "replication");
            assertEquals(0, onPrimary.exitCode(), onPrimary.toString());
            JsonNode p = check(onPrimary, "replication");
            assertTrue(p.get("message").asText().startsWith("1 standby connected"), p.toString());
            assertEquals("standby1", p.at("/items/0/standby").asText());

            pg.execute("postgres", "INSERT INTO wal_maker VALUES (1)");
            String target = (String) pg.scalar("postgres", "SELECT pg_current_wal_lsn()::text");
            Map<String, String> env = new LinkedHashMap<>(pg.env("postgres"));
            env.put("PGPORT", String.valueOf(port));
            waitFor("the standby to replay the insert", () -> Boolean.TRUE.equals(
                    scalarOn(port, "SELECT pg_last_wal_replay_lsn() >= '" + target + "'::pg_lsn")));
            // The primary stays idle: the last replayed commit grows old, which is not lag.
            Thread.sleep(1500);
            double naive = ((Number) scalarOn(port, "SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())")).doubleValue();
            assertTrue(naive >= 1.4, "the runbook's formula would report " + naive + " s of lag");
            CliRun onStandby = monitor(env, "--format", "json", "--warning", "replication_lag=1s");
            assertEquals(0, onStandby.exitCode(), onStandby.toString());
            assertEquals("standby", onStandby.json().get("role").asText());
            JsonNode s = check(onStandby, "replication");
            assertEquals("OK", s.get("status").asText(), s.toString());
            assertEquals(0, s.at("/items/0/lag_seconds").asDouble());
            assertEquals("streaming", s.at("/items/0/receiver_status").asText());
            assertEquals("SKIPPED", check(onStandby, "archiving").get("status").asText());
            for (JsonNode c : onStandby.json().get("checks")) {
                assertNotEquals("UNKNOWN", c.get("status").asText(), "every query works on a standby: " + c);
            }
        } finally {
            standby.remove();
        }
    }

    private Object scalarOn(int port, String sql) {
        var primary = pg.connection("postgres");
        var settings = new dev.chronodr.pg.ConnectionSettings(primary.host(), port, "postgres", primary.user(), primary.password(), "disable");
        try (Connection c = dev.chronodr.pg.Database.connect(settings);
             Statement st = c.createStatement(); var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getObject(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    @Order(6)
    void aStoppedServerIsCriticalInEveryFormat() {
        pg.stop();
        try {
            String where = "127.0.0.1:" + pg.port();
            CliRun json = monitor(pg.env("postgres"), "--format", "json");
            assertEquals(2, json.exitCode(), json.toString());
            JsonNode j = json.json();
            assertEquals(2, j.get("exit_code").asInt());
            assertEquals("CRITICAL", j.get("status").asText());
            JsonNode conn = check(json, "connection");
            assertEquals("CRITICAL", conn.get("status").asText());
            assertTrue(conn.get("message").asText().contains(where), conn.toString());
            assertEquals("UNKNOWN", check(json, "connections").get("status").asText());
            assertTrue(check(json, "lock_waits").get("message").asText().startsWith("not run: no connection to " + where), json.toString());

            CliRun nagios = monitor(pg.env("postgres"), "--format", "nagios");
            assertEquals(2, nagios.exitCode(), nagios.toString());
            assertEquals(1, nagios.out().strip().lines().count(), nagios.out());
            assertTrue(nagios.out().startsWith("CHRONO-DR CRITICAL - CRITICAL connection: cannot connect"), nagios.out());
            assertTrue(nagios.out().contains(where), nagios.out());
            assertTrue(nagios.out().contains("| up=0;;;;"), nagios.out());

            CliRun prom = monitor(pg.env("postgres"), "--format", "prometheus");
            assertEquals(2, prom.exitCode());
            PrometheusText p = PrometheusText.parse(prom.out());
            assertEquals(0, p.value("chrono_dr_up{target=\"default\"}"));
            assertEquals(2, p.value("chrono_dr_status{target=\"default\"}"));

            CliRun text = monitor(pg.env("postgres"));
            assertEquals(2, text.exitCode());
            assertTrue(text.out().lines().skip(1).findFirst().orElse("").startsWith("CRITICAL connection"), text.out());
        } finally {
            pg.start();
        }
    }
}
