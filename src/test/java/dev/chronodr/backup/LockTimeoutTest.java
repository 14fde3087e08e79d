package dev.chronodr.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * A backup behind a table that another session holds in ACCESS EXCLUSIVE mode gives up
 * after --lock-timeout, names the table and the session in the way, exits 1 and leaves
 * no backup behind.
 */
@PostgresTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LockTimeoutTest {
    private static final String DB = "locked_app";
    private PgCluster pg;
    @TempDir
    Path dir;

    @BeforeAll
    void seed(PgCluster pg) {
        this.pg = pg;
        pg.createDatabase(DB);
        pg.execute(DB, """
                CREATE TABLE accounts (id int PRIMARY KEY, name text);
                INSERT INTO accounts SELECT g, 'n' || g FROM generate_series(1, 1000) g;
                CREATE TABLE audit_log (id int);
                DROP ROLE IF EXISTS night_migration; CREATE ROLE night_migration LOGIN PASSWORD 'mig-pw';
                GRANT ALL ON accounts TO night_migration;
                """);
    }

    /** A session of its own, as another user, that holds ACCESS EXCLUSIVE on accounts until closed. */
    private Connection holdLock() throws Exception {
        Connection holder = Database.connect(new ConnectionSettings(pg.host(), pg.port(), DB, "night_migration", Secret.of("mig-pw"), "disable"));
        holder.setAutoCommit(false);
        try (Statement st = holder.createStatement()) {
            st.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");
        }
        return holder;
    }

    private static int pid(Connection c) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private OffsetDateTime queryStart(int pid) throws Exception {
        try (Connection c = pg.connect(DB); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT query_start FROM pg_stat_activity WHERE pid = " + pid)) {
            rs.next();
            return rs.getObject(1, OffsetDateTime.class);
        }
    }

    private int backups(Path repo) {
        CliRun list = CliRun.run(pg.env(DB), dir, "list", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, list.exitCode(), list.toString());
        return list.json().get("backups").size();
    }

    private static boolean anythingStaged(Path repo) throws Exception {
        Path partial = repo.resolve(".partial").resolve(DB);
        if (!Files.isDirectory(partial)) {
            return false;
        }
        try (Stream<Path> s = Files.list(partial)) {
            return s.findAny().isPresent();
        }
    }

    @Test
    void aBackupBehindAnExclusiveLockGivesUpNamingTheTableAndTheSession() throws Exception {
        Path repo = dir.resolve("repo");
        try (Connection holder = holdLock()) {
            int holderPid = pid(holder);
            long t0 = System.nanoTime();
            CliRun r = CliRun.run(pg.env(DB), dir, "backup", "--repo", repo.toString(), "--lock-timeout", "2");
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
            assertEquals(1, r.exitCode(), r.toString());
            assertTrue(seconds < 30, "gave up in " + seconds + " s, not for ever");
            String error = r.err().lines().filter(l -> l.startsWith("chrono-dr: ")).findFirst().orElseThrow(() -> new AssertionError(r.toString()));
            assertTrue(error.contains("gave up after 2 s waiting for a lock on table public.accounts"), error);
            assertTrue(error.contains("pid " + holderPid + " (user night_migration, query started " + queryStart(holderPid)), error);
            assertTrue(r.err().contains("pg_terminate_backend(" + holderPid + ")"), "the hint says how to end it: " + r.err());
            holder.rollback();
        }
        assertEquals(0, backups(repo), "no backup appears in the repository");
        assertFalse(anythingStaged(repo), "the staging directory is gone too");

        CliRun after = CliRun.run(pg.env(DB), dir, "backup", "--repo", repo.toString(), "--lock-timeout", "2");
        assertEquals(0, after.exitCode(), "with the lock released the backup runs: " + after);
        assertEquals(1, backups(repo));
    }

    @Test
    void theConfigSetsTheTimeoutAndOtherCommandsAcceptTheKey() throws Exception {
        Path repo = dir.resolve("repo-config");
        Path config = Files.writeString(dir.resolve("c.yaml"), """
                targets:
                  app:
                    host: 127.0.0.1
                    port: %d
                    dbname: %s
                    user: postgres
                    backup: {lock_timeout: 1, retention_days: 7}
                """.formatted(pg.port(), DB));
        Map<String, String> env = new java.util.HashMap<>(pg.env(DB));
        env.keySet().removeIf(k -> k.startsWith("PG") && !k.equals("PGPASSWORD"));
        try (Connection holder = holdLock()) {
            CliRun r = CliRun.run(env, dir, "backup", "--config", config.toString(), "--repo", repo.toString(), "--format", "json");
            assertEquals(1, r.exitCode(), r.toString());
            assertTrue(r.json().at("/error/message").asText().contains("gave up after 1 s waiting for a lock on table public.accounts"), r.toString());
            holder.rollback();
        }
        CliRun cleanup = CliRun.run(env, dir, "cleanup", "--config", config.toString(), "--repo", repo.toString(), "--dry-run");
        assertEquals(0, cleanup.exitCode(), "cleanup reads the same backup section: " + cleanup);
        CliRun bad = CliRun.run(env, dir, "backup", "--config", config.toString(), "--repo", repo.toString(), "--lock-timeout", "0");
        assertEquals(64, bad.exitCode(), bad.toString());
    }

    @Test
    void pgDumpsOwnLockTimeoutIsExplainedTheSameWay() throws Exception {
        // pg_dump's real words when --lock-wait-timeout runs out, turned into the same one-line error.
        try (Connection holder = holdLock(); Connection mine = pg.connect(DB)) {
            int holderPid = pid(holder);
            ProcessBuilder pb = new ProcessBuilder(pg.binDir().resolve("pg_dump").toString(), "-h", pg.host(), "-p", String.valueOf(pg.port()),
                    "-U", pg.superuser(), "-d", DB, "-t", "accounts", "--lock-wait-timeout=500", "-f", "/dev/null")
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("PGPASSWORD", pg.password().reveal());
            pb.environment().put("PGSSLMODE", "disable");
            Process p = pb.start();
            p.getOutputStream().close();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.exitValue() != 0, stderr);
            ChronoException e = LockWait.dumpGaveUp(new ChronoException(ExitCode.FAILED, "pg_dump failed", null,
                    new ProcessFailedException("pg_dump", p.exitValue(), stderr, false, null)), mine, Duration.ofSeconds(1));
            assertNotNull(e, stderr);
            assertEquals(ExitCode.FAILED, e.exitCode());
            assertTrue(e.getMessage().contains("lock on table public.accounts"), e.getMessage());
            assertTrue(e.getMessage().contains("pid " + holderPid + " (user night_migration"), e.getMessage());
            assertEquals(null, LockWait.dumpGaveUp(new ChronoException(ExitCode.FAILED, "x", null,
                    new ProcessFailedException("pg_dump", 1, "pg_dump: error: connection refused", false, null)), mine, Duration.ofSeconds(1)));
            holder.rollback();
        }
    }
}
