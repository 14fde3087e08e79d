package dev.chronodr.audit;

import static dev.chronodr.audit.AuditFixtures.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * A cluster hardened the way docs/audit.md says: the matrix applied with the audit's
 * own --print-sql script, strong passwords with expiry, no trust in pg_hba.conf,
 * connection logging and WAL archiving on. The audit gives it a clean bill as a
 * superuser, and refuses to as the monitoring role that cannot see everything.
 */
@PostgresTest
class AuditHardenedClusterTest {
    static final String DB = "chrono_scraper";
    static final Map<String, String> PASSWORDS = new LinkedHashMap<>();
    static String originalHba;

    private final PgCluster pg;

    @TempDir
    Path dir;

    AuditHardenedClusterTest(PgCluster pg) {
        this.pg = pg;
    }

    @BeforeAll
    static void harden(PgCluster pg, @TempDir Path work) {
        for (String role : List.of("chrono_scraper", "backup_user", "monitoring_user", "readonly_user")) {
            PASSWORDS.put(role, "Hx9-" + UUID.randomUUID());
        }
        String expiry = LocalDate.now().plusDays(90).toString();
        pg.execute("postgres", "CREATE ROLE chrono_scraper LOGIN CONNECTION LIMIT 75 PASSWORD '" + PASSWORDS.get("chrono_scraper") + "'");
        pg.createDatabase(DB);
        AuditFixtures.chronoScraperSchema(pg, DB);

        // The matrix, applied by running the audit's own script as a DBA would.
        CliRun sql = CliRun.run(pg.env(DB), work, "audit", "--config", AuditFixtures.config(work).toString(),
                "--target", "chrono_scraper", "--print-sql");
        assertTrue(sql.out().contains("CREATE ROLE \"backup_user\""), sql.toString());
        pg.execute(DB, sql.out());

        // What the script leaves to a person: passwords and their expiry.
        PASSWORDS.forEach((role, pw) -> pg.execute("postgres",
                "ALTER ROLE \"" + role + "\" PASSWORD '" + pw + "' VALID UNTIL '" + expiry + "'"));
        pg.execute("postgres", "ALTER ROLE postgres VALID UNTIL '" + expiry + "'");

        originalHba = AuditFixtures.readHba(pg);
        AuditFixtures.writeHba(pg, """
                # hardened by AuditHardenedClusterTest: no trust, loopback only
                local   all          all                      scram-sha-256
                host    all          all   127.0.0.1/32       scram-sha-256
                host    all          all   ::1/128            scram-sha-256
                local   replication  all                      scram-sha-256
                host    replication  all   127.0.0.1/32       scram-sha-256
                host    replication  all   ::1/128            scram-sha-256
                """);
        for (String setting : List.of("log_connections = on", "log_disconnections = on", "archive_mode = on",
                "archive_command = '/bin/true'")) {
            pg.execute("postgres", "ALTER SYSTEM SET " + setting);
        }
        pg.restart(); // archive_mode needs a restart
    }

    @AfterAll
    static void restoreHba(PgCluster pg) {
        if (originalHba != null) {
            AuditFixtures.writeHba(pg, originalHba);
        }
    }

    private CliRun audit(Map<String, String> env, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("audit", "--config", AuditFixtures.config(dir).toString(),
                "--target", "chrono_scraper"));
        args.addAll(List.of(more));
        CliRun run = CliRun.run(env, dir, args.toArray(String[]::new));
        PASSWORDS.values().forEach(pw -> assertFalse(run.out().contains(pw) || run.err().contains(pw), "password leaked"));
        return run;
    }

    @Test
    void hardenedClusterIsCleanAndNeedsNoSql() {
        // One superuser run serves both: JSON with --print-sql carries the findings and the SQL.
        CliRun run = audit(pg.env(DB), "--format", "json", "--print-sql");
        JsonNode r = run.json();
        assertEquals(0, run.exitCode(), ids(r) + "\n" + r.path("skipped"));
        assertEquals("clean", r.path("summary").path("verdict").asText());
        assertEquals(0, r.path("skipped").size());
        r.path("findings").forEach(f -> assertEquals("INFO", f.path("severity").asText(), f.toString()));
        // The one INFO: no TLS, acceptable while the server listens on loopback only.
        assertEquals(List.of("INFO TLS-OFF:ssl"), ids(r));
        r.path("checks").forEach(c -> assertEquals("RAN", c.path("status").asText(), c.toString()));
        assertEquals(8, r.path("checks").size());
        assertEquals(0, r.path("sql").size(), "the matrix is met: " + r.path("sql"));
        assertTrue(r.path("sql").isArray());
    }

    @Test
    void monitoringUserCannotGiveACleanBill() throws Exception {
        Map<String, String> env = new LinkedHashMap<>(pg.env(DB));
        env.put("PGUSER", "monitoring_user");
        env.put("PGPASSWORD", PASSWORDS.get("monitoring_user"));
        CliRun run = audit(env, "--format", "json");
        JsonNode r = run.json();
        assertEquals(3, run.exitCode(), "nothing bad is visible, but key checks could not run: " + run);
        assertEquals("incomplete", r.path("summary").path("verdict").asText());
        assertEquals(0, r.path("summary").path("critical").asInt() + r.path("summary").path("warning").asInt(), ids(r).toString());
        List<String> essential = new java.util.ArrayList<>();
        r.path("skipped").forEach(s -> {
            if (s.path("essential").asBoolean()) {
                essential.add(s.path("check").asText());
            }
        });
        assertEquals(List.of("passwords", "authentication"), essential);

        CliRun text = audit(env);
        assertEquals(3, text.exitCode());
        assertTrue(text.out().contains("(key check: the audit is incomplete)"), text.out());
        assertTrue(text.out().strip().endsWith("-> incomplete (exit 3)"), text.out());

        CliRun junit = audit(env, "--format", "junit");
        assertEquals(3, junit.exitCode());
        assertTrue(junit.out().contains("<error message=\"could not audit: reading password verifiers needs a superuser"), junit.out());
    }
}
