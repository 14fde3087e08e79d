package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.pg.Identifiers;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * A replace or in-place restore keeps what belongs to the database rather than to its dump:
 * ACL, owner, comment, connection limit, ALTER DATABASE / ALTER ROLE IN DATABASE settings.
 */
@PostgresTest
class DatabasePropertiesTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    DatabasePropertiesTest(PgCluster pg) {
        this.pg = pg;
    }

    private void role(String name) {
        pg.execute("postgres", "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + name + "') THEN CREATE ROLE "
                + Identifiers.quote(name) + " LOGIN; END IF; END $$");
    }

    /** A database with every property set away from its default, and a table of data. */
    private String prepare(String db) {
        role("props_app");
        role("props_refused");
        role("props_owner");
        String q = Identifiers.quote(db);
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100) g");
        pg.execute("postgres", "ALTER DATABASE " + q + " OWNER TO props_owner");
        pg.execute("postgres", "REVOKE CONNECT ON DATABASE " + q + " FROM PUBLIC");
        pg.execute("postgres", "GRANT CONNECT ON DATABASE " + q + " TO props_app");
        pg.execute("postgres", "COMMENT ON DATABASE " + q + " IS 'the app''s database, 日本'");
        pg.execute("postgres", "ALTER DATABASE " + q + " CONNECTION LIMIT 17");
        pg.execute("postgres", "ALTER DATABASE " + q + " SET work_mem = '7MB'");
        pg.execute("postgres", "ALTER DATABASE " + q + " SET search_path = \"$user\", public, \"odd, schema\"");
        pg.execute("postgres", "ALTER ROLE props_app IN DATABASE " + q + " SET statement_timeout = '5s'");
        return db;
    }

    private Map<String, Object> properties(String db) {
        return pg.query("postgres", """
                SELECT pg_get_userbyid(d.datdba) AS owner, d.datconnlimit AS connlimit, shobj_description(d.oid, 'pg_database') AS comment,
                       has_database_privilege('props_app', d.oid, 'CONNECT') AS app_connects,
                       has_database_privilege('props_refused', d.oid, 'CONNECT') AS refused_connects,
                       (SELECT array_to_string(array_agg(x ORDER BY x), ';') FROM (SELECT coalesce(r.rolname, '*') || ':' || c AS x
                          FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) c
                         WHERE s.setdatabase = d.oid) z) AS settings
                FROM pg_database d WHERE d.datname = '""" + db.replace("'", "''") + "'").get(0);
    }

    private void assertKept(Map<String, Object> p, String how) {
        assertEquals("props_owner", p.get("owner"), how);
        assertEquals(17, p.get("connlimit"), how);
        assertEquals("the app's database, 日本", p.get("comment"), how);
        assertEquals(Boolean.TRUE, p.get("app_connects"), how);
        assertEquals(Boolean.FALSE, p.get("refused_connects"), how + ": a role refused before must stay refused");
        assertEquals("*:search_path=\"$user\", public, \"odd, schema\";*:work_mem=7MB;props_app:statement_timeout=5s", p.get("settings"), how);
    }

    @Test
    void replaceAndInPlaceKeepTheDatabasesOwnProperties() {
        String db = prepare("props 'q\" 日本db");
        Map<String, Object> before = properties(db);
        assertKept(before, "the test's own setup");
        Path repo = dir.resolve("repo");
        CliRun b = CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString());
        assertEquals(0, b.exitCode(), b.toString());
        pg.execute(db, "DELETE FROM t");

        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        assertFalse(r.out().contains("not kept"), r.out());
        assertEquals(100L, ((Number) pg.scalar(db, "SELECT count(*) FROM t")).longValue());
        assertKept(properties(db), "after replace");

        pg.execute(db, "DELETE FROM t");
        CliRun in = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "--in-place", "--format", "json");
        assertEquals(0, in.exitCode(), in.toString());
        assertFalse(in.out().contains("not kept"), in.out());
        assertEquals(100L, ((Number) pg.scalar(db, "SELECT count(*) FROM t")).longValue());
        assertKept(properties(db), "after in-place");
        assertEquals(0L, ((Number) pg.scalar("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'props%restore%' "
                + "AND datname NOT LIKE '%pre_restore%'")).longValue(), "no staging database is left");
    }

    @Test
    void aDatabaseWithDefaultPropertiesStaysAtTheDefaults() {
        String db = pg.createDatabase("props_plain");
        pg.execute(db, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
        Path repo = dir.resolve("repo-plain");
        assertEquals(0, CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString()).exitCode());
        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes");
        assertEquals(0, r.exitCode(), r.toString());
        List<Map<String, Object>> row = pg.query("postgres",
                "SELECT datacl::text AS acl, shobj_description(oid, 'pg_database') AS comment, datconnlimit FROM pg_database WHERE datname = 'props_plain'");
        assertNull(row.get(0).get("comment"), "the staging marker does not survive the swap");
        assertNull(row.get(0).get("acl"));
        assertEquals(-1, row.get(0).get("datconnlimit"));
        assertTrue(pg.query("postgres", "SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                + "WHERE d.datname = 'props_plain'").isEmpty());
    }

    @Test
    void settingListsAreSplitAsPostgresqlStoresThem() {
        assertEquals(List.of("$user", "public", "odd, schema"), DatabaseProperties.splitList("\"$user\", public, \"odd, schema\""));
        assertEquals("\"search_path\" TO '$user', 'public'", DatabaseProperties.setting("search_path=\"$user\", public"));
        assertEquals("\"app\".\"x\" TO 'it''s'", DatabaseProperties.setting("app.x=it's"));
    }

    @Test
    void whatDiffersIsNamedWithBothValues() throws Exception {
        String a = prepare("props_diff_a");
        String b = pg.createDatabase("props_diff_b");
        try (var c = pg.connect("postgres")) {
            List<String> d = DatabaseProperties.capture(c, a).differences(DatabaseProperties.capture(c, b), true);
            String all = String.join("\n", d);
            for (String what : List.of("owner was props_owner", "ACL was [", "comment was the app's database", "connection limit was 17, is now -1",
                    "settings was {", "props_app=[statement_timeout=5s]")) {
                assertTrue(all.contains(what), what + " in\n" + all);
            }
            assertTrue(DatabaseProperties.capture(c, a).differences(DatabaseProperties.capture(c, a), true).isEmpty());
        }
    }

    @Test
    void anIcuDatabaseStaysIcu() {
        org.junit.jupiter.api.Assumptions.assumeTrue(((Number) pg.scalar("postgres",
                "SELECT count(*) FROM pg_collation WHERE collprovider = 'i'")).longValue() > 0, "this server is built without ICU");
        pg.execute("postgres", "DROP DATABASE IF EXISTS props_icu WITH (FORCE)");
        pg.execute("postgres", "CREATE DATABASE props_icu TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'de-DE'");
        pg.execute("props_icu", "CREATE TABLE t (v text); INSERT INTO t VALUES ('a'), ('B')");
        Path repo = dir.resolve("repo-icu");
        assertEquals(0, CliRun.run(pg.env("props_icu"), dir, "backup", "--repo", repo.toString()).exitCode());
        String provider = "SELECT datlocprovider::text || ' ' || daticulocale FROM pg_database WHERE datname = 'props_icu'";
        for (String mode : List.of("--no-verify", "--in-place")) {
            CliRun r = CliRun.run(pg.env("props_icu"), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", mode);
            assertEquals(0, r.exitCode(), r.toString());
            assertFalse(r.out().contains("not kept"), r.out());
            assertEquals("i de-DE", pg.scalar("postgres", provider), mode);
        }
    }
}
