package dev.chronodr.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * A role without the privileges the checks need gets SKIPPED (or UNKNOWN) with the reason
 * and the exact statements to fix it, and exit 3 -- never a false OK. Running exactly the
 * statements verify printed makes the next run pass.
 */
@PostgresTest
class VerifyPrivilegesTest {

    private static List<String> commands(JsonNode check) {
        List<String> out = new ArrayList<>();
        check.get("commands").forEach(c -> out.add(c.asText()));
        return out;
    }

    @Test
    void missingPrivilegesAreSkippedWithTheFixAndExit3(PgCluster pg, @TempDir Path tmp) {
        String db = pg.createDatabase("least_privilege");
        pg.execute("postgres", "DROP ROLE IF EXISTS verifier");
        pg.execute("postgres", "CREATE ROLE verifier LOGIN PASSWORD 'verifier-pw'");
        pg.execute(db, """
                CREATE TABLE parents (id int PRIMARY KEY);
                CREATE TABLE children (id int PRIMARY KEY, parent_id int REFERENCES parents);
                INSERT INTO parents VALUES (1), (2);
                INSERT INTO children VALUES (1, 1), (2, 2);
                """);
        Map<String, String> env = new java.util.HashMap<>(pg.env(db));
        env.put("PGUSER", "verifier");
        env.put("PGPASSWORD", "verifier-pw");

        // 1. amcheck is not installed and this role may not create it.
        CliRun first = CliRun.run(env, tmp, "verify", "--format", "json");
        assertEquals(3, first.exitCode(), first.toString());
        JsonNode report = first.json();
        assertEquals("UNKNOWN", report.get("status").asText());
        JsonNode btree = DataFiles.check(report, "btree");
        assertEquals("SKIPPED", btree.get("status").asText());
        assertTrue(btree.get("blocked").asBoolean());
        assertTrue(btree.get("summary").asText().contains("amcheck is not installed in database least_privilege and role verifier cannot create it"),
                btree.toString());
        List<String> setup = commands(btree);
        assertEquals(List.of("CREATE EXTENSION amcheck SCHEMA \"public\";",
                "GRANT USAGE ON SCHEMA \"public\" TO \"verifier\";",
                "GRANT EXECUTE ON FUNCTION \"public\".bt_index_check(regclass, boolean) TO \"verifier\";",
                "GRANT EXECUTE ON FUNCTION \"public\".verify_heapam(regclass, boolean, boolean, text, bigint, bigint) TO \"verifier\";"),
                setup);
        assertTrue(DataFiles.check(report, "heap").get("blocked").asBoolean());
        // Without SELECT on the tables the orphan count is unknown, not zero.
        JsonNode fks = DataFiles.check(report, "foreign-keys");
        assertEquals("UNKNOWN", fks.get("status").asText(), fks.toString());
        assertTrue(fks.get("findings").get(0).get("message").asText().contains("permission denied"), fks.toString());
        assertEquals("as a superuser, give the role read access: GRANT pg_read_all_data TO \"verifier\";",
                fks.get("findings").get(0).get("fix").asText());
        // Catalog-only checks still run for this role.
        assertEquals("OK", DataFiles.check(report, "invalid-indexes").get("status").asText());

        CliRun text = CliRun.run(env, tmp, "verify", "--only", "btree");
        assertEquals(3, text.exitCode(), text.toString());
        assertTrue(text.out().contains("[could not check]"), text.out());
        assertTrue(text.out().contains("run:  CREATE EXTENSION amcheck SCHEMA \"public\";"), text.out());

        // 2. The extension exists, the grants do not: only the missing GRANT is asked for.
        pg.execute(db, setup.get(0));
        CliRun second = CliRun.run(env, tmp, "verify", "--format", "json", "--only", "btree,heap");
        assertEquals(3, second.exitCode(), second.toString());
        JsonNode btree2 = DataFiles.check(second.json(), "btree");
        assertTrue(btree2.get("summary").asText().contains("role verifier may not run amcheck's bt_index_check"), btree2.toString());
        assertEquals(List.of("GRANT EXECUTE ON FUNCTION \"public\".bt_index_check(regclass, boolean) TO \"verifier\";"),
                commands(btree2));

        // 3. Exactly what verify printed, run by a superuser, lets every check run.
        for (String sql : setup.subList(1, setup.size())) {
            pg.execute(db, sql);
        }
        pg.execute(db, fks.get("findings").get(0).get("fix").asText().replaceFirst("^.*: ", ""));
        CliRun third = CliRun.run(env, tmp, "verify", "--format", "json");
        assertEquals(0, third.exitCode(), third.toString());
        JsonNode btree3 = DataFiles.check(third.json(), "btree");
        assertEquals("OK", btree3.get("status").asText());
        assertFalse(btree3.get("blocked").asBoolean());
        assertTrue(btree3.get("checked").asInt() >= 2);
        assertEquals("OK", DataFiles.check(third.json(), "heap").get("status").asText());
        assertEquals("OK", DataFiles.check(third.json(), "foreign-keys").get("status").asText());
    }
}
