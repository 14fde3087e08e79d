package dev.chronodr.audit;

import static dev.chronodr.audit.AuditFixtures.anyFinding;
import static dev.chronodr.audit.AuditFixtures.finding;
import static dev.chronodr.audit.AuditFixtures.ids;
import static dev.chronodr.audit.AuditFixtures.severity;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * A cluster set up with each weakness on purpose: the runbook's default password in
 * SCRAM, an easy one in md5, a second superuser, PUBLIC CREATE on public, a SECURITY
 * DEFINER function without search_path, matrix roles missing or with wrong limits, and
 * (in one test, restored after) trust, md5, password, ident and broken pg_hba.conf lines.
 */
@PostgresTest
class AuditWeakClusterTest {
    static final String DB = "chrono_scraper";
    static final String STRONG = "Xk2-" + UUID.randomUUID();
    /** Passwords that must never appear in any output. */
    static final List<String> SECRETS = List.of("chrono_scraper_dev", "changeme", "correct horse battery staple", STRONG);

    private final PgCluster pg;

    @TempDir
    Path dir;

    AuditWeakClusterTest(PgCluster pg) {
        this.pg = pg;
    }

    @BeforeAll
    static void weaken(PgCluster pg) {
        pg.execute("postgres", """
                CREATE ROLE chrono_scraper LOGIN CREATEDB PASSWORD 'chrono_scraper_dev' CONNECTION LIMIT 75 VALID UNTIL '2099-01-01';
                CREATE ROLE monitoring_user LOGIN PASSWORD '%1$s' VALID UNTIL '2099-01-01';
                CREATE ROLE intruder LOGIN SUPERUSER PASSWORD 'correct horse battery staple' VALID UNTIL '2099-01-01';
                """.formatted(STRONG));
        // The session's password_encryption decides how CREATE ROLE stores the password.
        pg.execute("postgres", "SET password_encryption = 'md5'; CREATE ROLE backup_user LOGIN PASSWORD 'changeme' CONNECTION LIMIT 5");
        pg.createDatabase(DB);
        AuditFixtures.chronoScraperSchema(pg, DB);
        pg.execute(DB, """
                GRANT CREATE ON SCHEMA public TO PUBLIC;
                GRANT SELECT ON ALL TABLES IN SCHEMA public TO backup_user;
                GRANT INSERT, DELETE ON users TO backup_user;
                CREATE FUNCTION public.reset_stats() RETURNS integer LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
                CREATE SCHEMA scratch AUTHORIZATION chrono_scraper;
                CREATE TABLE scratch.tmp_import (id int);
                ALTER TABLE scratch.tmp_import OWNER TO chrono_scraper;
                """);
    }

    private CliRun audit(Map<String, String> env, Path config, String... more) {
        List<String> args = new ArrayList<>(List.of("audit", "--config", config.toString(), "--target", "chrono_scraper"));
        args.addAll(List.of(more));
        CliRun run = CliRun.run(env, dir, args.toArray(String[]::new));
        for (String secret : SECRETS) {
            assertFalse(run.out().contains(secret) || run.err().contains(secret), "a password leaked into the output:\n" + run);
        }
        return run;
    }

    private CliRun audit(String... more) {
        return audit(pg.env(DB), AuditFixtures.config(dir), more);
    }

    @Test
    void findsEachWeaknessWithTheRightSeverity() {
        CliRun run = audit("--format", "json");
        assertEquals(2, run.exitCode(), run.toString());
        JsonNode r = run.json();
        assertEquals("critical", r.path("summary").path("verdict").asText());
        assertTrue(r.path("superuser").asBoolean());
        assertNull(r.get("sql"), "no sql without --print-sql");

        // Passwords, tested offline: the runbook default in SCRAM, an easy one in md5.
        assertEquals("CRITICAL", severity(r, "PASSWORD-WEAK", "chrono_scraper"));
        assertEquals("CRITICAL", severity(r, "PASSWORD-WEAK", "backup_user"));
        assertEquals("WARNING", severity(r, "PASSWORD-MD5", "backup_user"));
        assertNull(finding(r, "PASSWORD-WEAK", "intruder"), "not on the built-in list");
        assertNull(finding(r, "PASSWORD-WEAK", "monitoring_user"));
        assertTrue(finding(r, "PASSWORD-WEAK", "chrono_scraper").path("evidence").asText().contains("SCRAM-SHA-256"));

        // Roles
        assertEquals("CRITICAL", severity(r, "ROLE-EXTRA-SUPERUSER", "intruder"));
        assertNull(finding(r, "ROLE-EXTRA-SUPERUSER", "postgres"), "the bootstrap superuser is expected");
        assertEquals("WARNING", severity(r, "ROLE-NO-PASSWORD-EXPIRY", "backup_user"));
        assertNull(finding(r, "ROLE-NO-PASSWORD-EXPIRY", "chrono_scraper"));
        assertEquals("WARNING", severity(r, "ROLE-NO-CONNLIMIT", "monitoring_user"));

        // Privileges in the connected database
        assertEquals("WARNING", severity(r, "PRIV-PUBLIC-CREATE", "schema public"));
        assertEquals("CRITICAL", severity(r, "PRIV-SECDEF-SEARCH-PATH", "function public.reset_stats()"));
        assertEquals("WARNING", severity(r, "PRIV-APP-OWNS", "schema scratch"));
        assertTrue(finding(r, "PRIV-APP-OWNS", "schema scratch").path("evidence").asText().contains("table tmp_import"));

        // The User Management Matrix
        assertEquals("WARNING", severity(r, "MATRIX-ROLE-MISSING", "readonly_user"));
        assertEquals("WARNING", severity(r, "MATRIX-ROLE-MISSING", "admin_user"));
        assertEquals("WARNING", severity(r, "MATRIX-CONNECTION-LIMIT", "backup_user"));
        assertEquals("WARNING", severity(r, "MATRIX-ATTRIBUTE", "chrono_scraper"));
        assertTrue(finding(r, "MATRIX-ATTRIBUTE", "chrono_scraper").path("evidence").asText().contains("createdb"));
        assertEquals("WARNING", severity(r, "MATRIX-MEMBERSHIP-MISSING", "monitoring_user in pg_monitor"));
        assertEquals("WARNING", severity(r, "MATRIX-PRIVILEGE-EXTRA", "backup_user on tables in public"));
        assertTrue(finding(r, "MATRIX-PRIVILEGE-EXTRA", "backup_user on tables in public").path("evidence").asText().contains("DELETE/INSERT on users"));
        assertEquals("WARNING", severity(r, "MATRIX-PRIVILEGE-MISSING", "backup_user on sequences in public"));
        assertEquals("WARNING", severity(r, "MATRIX-ROLE-UNDECLARED", "intruder"));
        assertNull(finding(r, "MATRIX-ROLE-UNDECLARED", "postgres"));

        // The harness's cluster: local trust from initdb, no archiving, no connection logs.
        assertTrue(r.path("findings").findValuesAsText("id").contains("AUTH-TRUST"));
        for (JsonNode f : r.path("findings")) {
            if (f.path("id").asText().equals("AUTH-TRUST")) {
                assertEquals("WARNING", f.path("severity").asText(), "local trust is a warning: " + f);
            }
        }
        assertEquals("WARNING", severity(r, "ARCHIVE-MODE", "archive_mode"));
        assertEquals("WARNING", severity(r, "LOG-CONNECTIONS", "log_connections"));
        assertNull(finding(r, "DATA-CHECKSUMS", "data_checksums"), "the harness runs initdb --data-checksums");
        assertEquals("INFO", severity(r, "TLS-OFF", "ssl"));
        assertEquals(0, r.path("skipped").size(), "a superuser runs every check: " + r.path("skipped"));
        for (JsonNode f : r.path("findings")) {
            for (String field : List.of("id", "severity", "check", "object", "evidence", "why", "fix")) {
                assertFalse(f.path(field).asText().isBlank(), field + " missing in " + f);
            }
        }
    }

    @Test
    void trustRuleInPgHbaIsCriticalAndGoneWhenRestored() {
        String original = AuditFixtures.readHba(pg);
        String base = original.endsWith("\n") ? original : original + "\n";
        int first = (int) base.lines().count() + 1;
        try {
            AuditFixtures.writeHba(pg, base
                    + "host all all 0.0.0.0/0 trust\n"
                    + "host all app_md5 192.0.2.0/24 md5\n"
                    + "host all app_pw 192.0.2.0/24 password\n"
                    + "host all app_ident 198.51.100.0/24 ident\n"
                    + "host all all 10.0.0.0/33 scram-sha-256\n");
            JsonNode r = audit("--format", "json").json();
            assertEquals("CRITICAL", severity(r, "AUTH-TRUST", "pg_hba.conf:" + first));
            assertEquals("host all all 0.0.0.0/0 trust", finding(r, "AUTH-TRUST", "pg_hba.conf:" + first).path("evidence").asText());
            assertEquals("WARNING", severity(r, "AUTH-OPEN-TO-ALL", "pg_hba.conf:" + first));
            assertEquals("WARNING", severity(r, "AUTH-SUPERUSER-REMOTE", "pg_hba.conf:" + first));
            assertTrue(finding(r, "AUTH-SUPERUSER-REMOTE", "pg_hba.conf:" + first).path("evidence").asText().contains("intruder"));
            assertEquals("WARNING", severity(r, "AUTH-MD5", "pg_hba.conf:" + (first + 1)));
            assertEquals("CRITICAL", severity(r, "AUTH-PASSWORD", "pg_hba.conf:" + (first + 2)));
            assertEquals("WARNING", severity(r, "AUTH-IDENT-TCP", "pg_hba.conf:" + (first + 3)));
            assertEquals("CRITICAL", severity(r, "AUTH-HBA-ERROR", "pg_hba.conf:" + (first + 4)));
            assertNull(finding(r, "AUTH-SUPERUSER-REMOTE", "pg_hba.conf:" + (first + 1)), "app_md5 is no superuser");
        } finally {
            AuditFixtures.writeHba(pg, original);
        }
        JsonNode after = audit("--format", "json").json();
        assertNull(finding(after, "AUTH-TRUST", "pg_hba.conf:" + first));
        assertFalse(anyFinding(after, "AUTH-HBA-ERROR"));
        assertFalse(anyFinding(after, "AUTH-MD5"));
    }

    @Test
    void textGroupsBySeverityAndJunitHasACasePerFindingAndCheck() throws Exception {
        CliRun text = audit();
        assertEquals(2, text.exitCode());
        String out = text.out();
        int critical = out.indexOf("\nCRITICAL (");
        int warning = out.indexOf("\nWARNING (");
        int info = out.indexOf("\nINFO (");
        assertTrue(critical > 0 && warning > critical && info > warning, out);
        String criticalBlock = out.substring(critical, warning);
        assertTrue(criticalBlock.contains("PASSWORD-WEAK  chrono_scraper"), criticalBlock);
        assertTrue(criticalBlock.contains("ROLE-EXTRA-SUPERUSER  intruder"), criticalBlock);
        assertFalse(criticalBlock.contains("PASSWORD-MD5"), "md5 storage is a warning");
        assertTrue(out.contains("      fix:      "));
        assertTrue(out.strip().endsWith("-> critical (exit 2)"), out);

        java.util.regex.Matcher result = java.util.regex.Pattern.compile("Result: (\\d+) critical, (\\d+) warning, (\\d+) info").matcher(out);
        assertTrue(result.find(), out);
        int failing = Integer.parseInt(result.group(1)) + Integer.parseInt(result.group(2));
        int findings = failing + Integer.parseInt(result.group(3));

        CliRun junit = audit("--format", "junit");
        assertEquals(2, junit.exitCode());
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(junit.out().getBytes(StandardCharsets.UTF_8)));
        Element suite = doc.getDocumentElement();
        assertEquals("testsuite", suite.getTagName());
        assertEquals(failing, Integer.parseInt(suite.getAttribute("failures")));
        NodeList cases = suite.getElementsByTagName("testcase");
        Map<String, Element> byName = new LinkedHashMap<>();
        for (int i = 0; i < cases.getLength(); i++) {
            Element c = (Element) cases.item(i);
            byName.put(c.getAttribute("name"), c);
        }
        assertTrue(cases.getLength() >= findings, "one case per finding at least");
        Element weak = byName.get("PASSWORD-WEAK chrono_scraper");
        assertNotNull(weak, byName.keySet().toString());
        assertEquals("audit.passwords", weak.getAttribute("classname"));
        assertTrue(((Element) weak.getElementsByTagName("failure").item(0)).getAttribute("message").startsWith("CRITICAL: "));
        assertNotNull(byName.get("activity: no findings"), "a clean check is a passing case: " + byName.keySet());
        assertEquals(0, byName.get("TLS-OFF ssl").getElementsByTagName("failure").getLength(), "INFO passes");
    }

    @Test
    void acceptedRisksFromFlagAndConfigLowerTheExitCode() {
        Path cfg = AuditFixtures.config(dir, "accepted", audit -> {
            var list = audit.putArray("ignore");
            list.addObject().put("id", "ROLE-EXTRA-SUPERUSER:intruder").put("reason", "pen-test account until Friday");
            list.add("PRIV-SECDEF-SEARCH-PATH");
        });
        CliRun run = audit(pg.env(DB), cfg, "--format", "json", "--ignore", "PASSWORD-WEAK", "ROLE-NO-PASSWORD-EXPIRY:backup_user");
        assertEquals(1, run.exitCode(), "only warnings are left: " + run);
        JsonNode r = run.json();
        assertEquals(0, r.path("summary").path("critical").asInt(), ids(r).toString());
        assertNull(finding(r, "ROLE-EXTRA-SUPERUSER", "intruder"));
        assertNull(finding(r, "ROLE-NO-PASSWORD-EXPIRY", "backup_user"));
        assertNotNull(finding(r, "MATRIX-ROLE-UNDECLARED", "intruder"), "ignoring one rule leaves the others");
        Map<String, String> reasons = new LinkedHashMap<>();
        r.path("ignored").forEach(i -> reasons.put(i.path("id").asText() + ":" + i.path("object").asText(), i.path("reason").asText()));
        assertEquals("pen-test account until Friday", reasons.get("ROLE-EXTRA-SUPERUSER:intruder"));
        assertEquals("--ignore", reasons.get("PASSWORD-WEAK:chrono_scraper"));
        assertEquals("--ignore", reasons.get("PASSWORD-WEAK:backup_user"));
        assertEquals("accepted in the config", reasons.get("PRIV-SECDEF-SEARCH-PATH:function public.reset_stats()"));
        assertEquals(5, r.path("summary").path("ignored").asInt(), reasons.toString());

        CliRun typo = audit("--ignore", "PASSWORD-WEEK");
        assertEquals(64, typo.exitCode(), typo.toString());
        assertTrue(typo.err().contains("unknown audit rule 'PASSWORD-WEEK'"), typo.err());
    }

    @Test
    void printSqlShowsTheFixWithoutPasswordsAndRunsNothing() {
        CliRun run = audit("--print-sql");
        assertEquals(2, run.exitCode(), "the exit code is still the audit's");
        String sql = run.out();
        assertTrue(sql.startsWith("-- chrono-dr audit --print-sql"), sql);
        assertTrue(sql.contains("\nBEGIN;\n") && sql.strip().endsWith("COMMIT;"), sql);
        assertTrue(sql.contains("CREATE ROLE \"readonly_user\" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 10;"), sql);
        assertTrue(sql.contains("-- set its password in psql (never in this file): \\password \"readonly_user\""), sql);
        assertTrue(sql.contains("CREATE ROLE \"admin_user\" WITH NOLOGIN SUPERUSER"), sql);
        assertTrue(sql.contains("GRANT SELECT ON ALL TABLES IN SCHEMA \"public\" TO \"readonly_user\";"), sql);
        assertTrue(sql.contains("GRANT \"pg_monitor\" TO \"monitoring_user\";"), sql);
        assertTrue(sql.contains("ALTER ROLE \"monitoring_user\" CONNECTION LIMIT 5;"), sql);
        assertTrue(sql.contains("ALTER ROLE \"backup_user\" CONNECTION LIMIT 2;"), sql);
        assertTrue(sql.contains("ALTER ROLE \"chrono_scraper\" WITH NOCREATEDB;"), sql);
        assertTrue(sql.contains("REVOKE DELETE, INSERT ON TABLE \"public\".\"users\" FROM \"backup_user\";"), sql);
        assertTrue(sql.contains("GRANT SELECT ON ALL SEQUENCES IN SCHEMA \"public\" TO \"backup_user\";"), sql);
        assertTrue(sql.contains("-- \"intruder\" is not in the matrix"), sql);
        assertFalse(sql.toUpperCase().contains("PASSWORD '"), "no password is ever generated into SQL");
        assertFalse(sql.contains("Security audit of"), "with --print-sql the text output is the script alone");
        // It was printed, not run.
        assertEquals(0L, pg.scalar(DB, "SELECT count(*) FROM pg_roles WHERE rolname IN ('readonly_user', 'admin_user')"));
        assertEquals(5, pg.scalar(DB, "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'backup_user'"));

        JsonNode json = audit("--print-sql", "--format", "json").json();
        assertTrue(json.path("sql").size() > 5);
        assertTrue(json.path("findings").size() > 5, "JSON keeps the findings and adds the SQL");

        assertEquals(64, audit("--print-sql", "--format", "junit").exitCode());
    }

    @Test
    void nonSuperuserGetsSkippedKeyChecksNotACleanBill() {
        Map<String, String> env = new LinkedHashMap<>(pg.env(DB));
        // The realistic case: the audit scheduled as the monitoring role, which is no superuser.
        env.put("PGUSER", "monitoring_user");
        env.put("PGPASSWORD", STRONG);
        CliRun run = audit(env, AuditFixtures.config(dir), "--format", "json");
        JsonNode r = run.json();
        // What pg_roles shows anyone is still found: the second superuser is CRITICAL.
        assertEquals(2, run.exitCode(), run.toString());
        assertEquals("CRITICAL", severity(r, "ROLE-EXTRA-SUPERUSER", "intruder"));
        assertFalse(r.path("superuser").asBoolean());
        Map<String, JsonNode> skips = new LinkedHashMap<>();
        r.path("skipped").forEach(s -> skips.put(s.path("check").asText(), s));
        assertTrue(skips.get("passwords").path("essential").asBoolean());
        assertTrue(skips.get("passwords").path("reason").asText().contains("needs a superuser"));
        assertTrue(skips.get("authentication").path("essential").asBoolean());
        assertEquals(2, r.path("summary").path("essential_skipped").asInt());
        assertFalse(anyFinding(r, "PASSWORD-WEAK"), "not tested, so not reported either way");
        Map<String, String> status = new LinkedHashMap<>();
        r.path("checks").forEach(c -> status.put(c.path("id").asText(), c.path("status").asText()));
        assertEquals("SKIPPED", status.get("passwords"));
        assertEquals("PARTIAL", status.get("authentication"), "password_encryption is still read");
        assertEquals("RAN", status.get("roles"));
    }

    @Test
    void configuredPasswordListAndConnectionThresholdApply() throws Exception {
        Path list = dir.resolve("weak-passwords.txt");
        Files.writeString(list, "# leaked service passwords\ncorrect horse battery staple\n");
        Path cfg = AuditFixtures.config(dir, "with-list", audit -> {
            audit.put("weak_passwords_file", list.toString());
            audit.put("client_connection_threshold", 3);
        });
        // Four idle sessions of one user from one address, held open while the audit runs.
        List<java.sql.Connection> held = new ArrayList<>();
        JsonNode r;
        try {
            for (int i = 0; i < 4; i++) {
                held.add(pg.connect(DB));
            }
            r = audit(pg.env(DB), cfg, "--format", "json").json();
        } finally {
            for (java.sql.Connection c : held) {
                c.close();
            }
        }
        assertEquals("CRITICAL", severity(r, "PASSWORD-WEAK", "intruder"));
        assertTrue(finding(r, "PASSWORD-WEAK", "intruder").path("evidence").asText().contains("weak-passwords.txt"));
        String who = pg.superuser() + "@127.0.0.1";
        assertEquals("WARNING", severity(r, "ACTIVITY-CLIENT-CONNECTIONS", who));
        assertTrue(finding(r, "ACTIVITY-CLIENT-CONNECTIONS", who).path("evidence").asText().contains("threshold 3"));
    }
}
