package dev.chronodr.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * verify against a real server: a sound database, foreign-key orphans slipped in with
 * session_replication_role = replica, an invalid index from a failed CREATE INDEX
 * CONCURRENTLY, the scope options, --jobs, --statement-timeout, --data-dir and the
 * output formats.
 */
@PostgresTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VerifyDatabaseTest {
    private static final String ORPHANS = """
            CREATE TABLE customers (id int PRIMARY KEY);
            -- bigint referencing int: the constraint's own cross-type operator is used
            CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers (id));
            CREATE TABLE regions (country text, code text, PRIMARY KEY (country, code));
            CREATE TABLE shops (id serial PRIMARY KEY, country text, code text, FOREIGN KEY (country, code) REFERENCES regions);
            CREATE TABLE depots (id serial PRIMARY KEY, country text, code text,
                                 FOREIGN KEY (country, code) REFERENCES regions MATCH FULL);
            CREATE TABLE events (id int, customer_id int, at date) PARTITION BY RANGE (at);
            CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
            ALTER TABLE events ADD FOREIGN KEY (customer_id) REFERENCES customers;
            CREATE TABLE notes (id int, customer_id int);
            CREATE SCHEMA other;
            CREATE TABLE other.accounts (id int, customer_id int REFERENCES public.customers);

            INSERT INTO customers SELECT generate_series(1, 10);
            INSERT INTO regions VALUES ('nl', 'ams'), ('de', 'ber');
            INSERT INTO orders (customer_id) SELECT 1 + g % 10 FROM generate_series(1, 100) g;
            INSERT INTO shops (country, code) VALUES ('nl', 'ams'), ('de', 'ber'), (NULL, 'xxx'), ('fr', NULL);
            INSERT INTO depots (country, code) VALUES ('nl', 'ams'), (NULL, NULL);
            INSERT INTO events VALUES (1, 1, '2024-05-01'), (2, 2, '2025-05-01');
            INSERT INTO notes VALUES (1, 1), (2, 77);
            ALTER TABLE notes ADD CONSTRAINT notes_customer_fk FOREIGN KEY (customer_id) REFERENCES customers NOT VALID;
            INSERT INTO other.accounts VALUES (1, 3);

            -- As pg_restore --disable-triggers and logical replication do: no RI triggers fire.
            SET session_replication_role = replica;
            INSERT INTO orders (customer_id) VALUES (11), (11), (12), (NULL);
            INSERT INTO shops (country, code) VALUES ('fr', 'par'), ('fr', 'par'), ('nl', 'xxx'), (NULL, 'zzz');
            INSERT INTO depots (country, code) VALUES ('fr', NULL), (NULL, 'ber'), ('nl', 'ams');
            INSERT INTO events VALUES (3, 99, '2024-06-01'), (4, 98, '2025-06-01');
            INSERT INTO other.accounts VALUES (2, 555);
            RESET session_replication_role;
            """;

    private PgCluster pg;
    private String orphans;

    @BeforeAll
    void setUp(PgCluster pg) {
        this.pg = pg;
        this.orphans = pg.createDatabase("orphans");
        pg.execute(orphans, ORPHANS);
    }

    private CliRun verify(String db, Path tmp, String... args) {
        String[] full = new String[args.length + 1];
        full[0] = "verify";
        System.arraycopy(args, 0, full, 1, args.length);
        return CliRun.run(pg.env(db), tmp, full);
    }

    private static JsonNode only(List<JsonNode> list) {
        assertEquals(1, list.size(), list.toString());
        return list.get(0);
    }

    private static Set<String> sample(JsonNode finding) {
        Set<String> out = new TreeSet<>();
        finding.get("sample").forEach(s -> out.add(s.asText()));
        return out;
    }

    @Test
    void soundDatabaseIsAllOk(@TempDir Path tmp) {
        String db = pg.createDemoDatabase("sound");
        CliRun first = verify(db, tmp, "--format", "json");
        assertEquals(0, first.exitCode(), first.toString());
        JsonNode report = first.json();
        assertEquals("OK", report.get("status").asText());
        JsonNode btree = DataFiles.check(report, "btree");
        assertEquals("OK", btree.get("status").asText());
        assertTrue(btree.get("checked").asInt() >= 12, btree.toString());
        assertTrue(btree.get("summary").asText().contains("created extension amcheck"), btree.toString());
        assertEquals("OK", DataFiles.check(report, "heap").get("status").asText());
        // users <- projects <- domains <- pages, scrape_pages (domain and page): found from the catalog.
        JsonNode fks = DataFiles.check(report, "foreign-keys");
        assertEquals(5, fks.get("checked").asInt(), fks.toString());
        assertEquals("OK", fks.get("status").asText());
        assertEquals("OK", DataFiles.check(report, "checksums").get("status").asText());
        JsonNode control = DataFiles.check(report, "controldata");
        assertEquals("SKIPPED", control.get("status").asText());
        assertFalse(control.get("blocked").asBoolean());

        CliRun text = verify(db, tmp);
        assertEquals(0, text.exitCode(), text.toString());
        assertTrue(text.out().startsWith("OK: chrono-dr verify postgres@"), text.out());
        assertTrue(text.out().contains("OK       foreign-keys           5 foreign keys checked, no orphan rows"), text.out());
        assertFalse(text.out().contains("created extension"), "amcheck is created once: " + text.out());
    }

    @Test
    void orphansAreCountedForEveryForeignKey(@TempDir Path tmp) {
        CliRun run = verify(orphans, tmp, "--format", "json", "--schema", "public");
        assertEquals(2, run.exitCode(), run.toString());
        JsonNode fks = DataFiles.check(run.json(), "foreign-keys");
        assertEquals("CRITICAL", fks.get("status").asText());
        assertEquals(5, fks.get("checked").asInt(), fks.toString());
        assertEquals(5, fks.get("findings").size(), fks.toString());

        JsonNode orders = only(DataFiles.findings(fks, "orders_customer_id_fkey on public.orders"));
        assertEquals("CRITICAL", orders.get("status").asText());
        assertEquals(3, orders.get("count").asLong());
        assertEquals(Set.of("customer_id=11", "customer_id=12"), sample(orders));

        // MATCH SIMPLE: (NULL, 'zzz') is no orphan.
        JsonNode shops = only(DataFiles.findings(fks, "shops_country_code_fkey on public.shops"));
        assertEquals(3, shops.get("count").asLong());
        assertEquals(Set.of("(country=fr, code=par)", "(country=nl, code=xxx)"), sample(shops));

        // MATCH FULL: partly NULL keys are orphans, all-NULL ones are not.
        JsonNode depots = only(DataFiles.findings(fks, "depots_country_code_fkey on public.depots"));
        assertEquals(2, depots.get("count").asLong());
        assertEquals(Set.of("(country=fr, code=NULL)", "(country=NULL, code=ber)"), sample(depots));

        // One foreign key on the partitioned table covers both partitions.
        JsonNode events = only(DataFiles.findings(fks, "events_customer_id_fkey on public.events"));
        assertEquals(2, events.get("count").asLong());
        assertEquals(Set.of("customer_id=98", "customer_id=99"), sample(events));

        // NOT VALID: the orphan predates the constraint; a warning, not corruption.
        JsonNode notes = only(DataFiles.findings(fks, "notes_customer_fk on public.notes"));
        assertEquals("WARNING", notes.get("status").asText());
        assertEquals(1, notes.get("count").asLong());
        assertTrue(notes.get("message").asText().contains("NOT VALID"));

        // Each fix query lists exactly the rows counted.
        assertEquals(3, pg.query(orphans, orders.get("fix").asText().replaceFirst(";$", "")).size());
        assertEquals(2, pg.query(orphans, depots.get("fix").asText().replaceFirst(";$", "")).size());

        JsonNode notValid = DataFiles.check(run.json(), "not-valid-constraints");
        assertEquals("WARNING", notValid.get("status").asText());
        JsonNode nv = only(DataFiles.findings(notValid, "notes_customer_fk on public.notes"));
        assertEquals("ALTER TABLE \"public\".\"notes\" VALIDATE CONSTRAINT \"notes_customer_fk\";", nv.get("fix").asText());

        // Four connections find the same as one.
        CliRun parallel = verify(orphans, tmp, "--format", "json", "--schema", "public", "--jobs", "4");
        assertEquals(2, parallel.exitCode(), parallel.toString());
        assertEquals(fks.get("findings"), DataFiles.check(parallel.json(), "foreign-keys").get("findings"));
    }

    @Test
    void tablesAndSchemaNarrowTheChecks(@TempDir Path tmp) {
        CliRun other = verify(orphans, tmp, "--format", "json", "--schema", "other", "--only", "foreign-keys,btree");
        assertEquals(2, other.exitCode(), other.toString());
        JsonNode fks = DataFiles.check(other.json(), "foreign-keys");
        assertEquals(1, fks.get("checked").asInt());
        JsonNode accounts = only(DataFiles.findings(fks, "accounts_customer_id_fkey on other.accounts"));
        assertEquals(1, accounts.get("count").asLong());
        assertEquals(0, DataFiles.check(other.json(), "btree").get("checked").asInt(), "other.accounts has no index");
        assertEquals("schema other", other.json().get("scope").asText());

        CliRun one = verify(orphans, tmp, "--format", "json", "--tables", "orders,public.regions", "--only", "foreign-keys,btree,heap");
        assertEquals(2, one.exitCode(), one.toString());
        JsonNode oneFks = DataFiles.check(one.json(), "foreign-keys");
        assertEquals(1, oneFks.get("checked").asInt(), oneFks.toString());
        only(DataFiles.findings(oneFks, "orders_customer_id_fkey"));
        // orders_pkey, regions_pkey, and the index of regions' TOAST table (text columns); orders has none.
        assertEquals(3, DataFiles.check(one.json(), "btree").get("checked").asInt(), DataFiles.check(one.json(), "btree").toString());
        JsonNode heap = DataFiles.check(one.json(), "heap");
        assertEquals(3, heap.get("checked").asInt(), heap.toString());
        assertTrue(heap.get("summary").asText().startsWith("3 tables (1 of them TOAST) checked"), heap.toString());

        // A partitioned table brings its partitions.
        CliRun parts = verify(orphans, tmp, "--format", "json", "--tables", "events", "--only", "heap");
        assertEquals(0, parts.exitCode(), parts.toString());
        assertEquals(2, DataFiles.check(parts.json(), "heap").get("checked").asInt());

        CliRun missing = verify(orphans, tmp, "--tables", "nope");
        assertEquals(64, missing.exitCode(), missing.toString());
        assertTrue(missing.err().contains("no table nope"), missing.err());
        CliRun noSchema = verify(orphans, tmp, "--schema", "nope");
        assertEquals(64, noSchema.exitCode(), noSchema.toString());
        CliRun outside = verify(orphans, tmp, "--schema", "public", "--tables", "other.accounts");
        assertEquals(64, outside.exitCode(), outside.toString());
        assertTrue(outside.err().contains("is not in --schema public"), outside.err());
    }

    @Test
    void invalidIndexIsReportedWithAFixThatWorks(@TempDir Path tmp) {
        String db = pg.createDatabase("invalid_index");
        pg.execute(db, """
                CREATE TABLE readings (id int PRIMARY KEY, v int NOT NULL);
                INSERT INTO readings SELECT g, g FROM generate_series(1, 50) g;
                """);
        // Division by zero at v = 25 fails the build half-way, as a real CONCURRENTLY build can fail.
        assertThrows(IllegalStateException.class,
                () -> pg.execute(db, "CREATE INDEX CONCURRENTLY readings_ratio_idx ON readings ((100 / (v - 25)))"));

        CliRun run = verify(db, tmp, "--format", "json");
        assertEquals(1, run.exitCode(), "an invalid index is a warning; btree skips it: " + run);
        JsonNode invalid = DataFiles.check(run.json(), "invalid-indexes");
        assertEquals("WARNING", invalid.get("status").asText());
        JsonNode f = only(DataFiles.findings(invalid, "public.readings_ratio_idx on public.readings"));
        String fix = f.get("fix").asText();
        assertTrue(fix.startsWith("REINDEX INDEX CONCURRENTLY \"public\".\"readings_ratio_idx\";"), fix);
        assertTrue(fix.contains("CREATE INDEX CONCURRENTLY readings_ratio_idx ON public.readings"), fix);
        assertEquals("OK", DataFiles.check(run.json(), "btree").get("status").asText());

        pg.execute(db, "DELETE FROM readings WHERE v = 25");
        pg.execute(db, fix);
        CliRun after = verify(db, tmp, "--only", "invalid-indexes,btree");
        assertEquals(0, after.exitCode(), after.toString());
    }

    @Test
    void statementTimeoutGivesUpOnALockedTable(@TempDir Path tmp) throws Exception {
        CliRun run;
        long millis;
        try (Connection holder = pg.connect(orphans); Statement st = holder.createStatement()) {
            holder.setAutoCommit(false);
            // What an ALTER TABLE or VACUUM FULL holds: even reads wait.
            st.execute("LOCK TABLE shops IN ACCESS EXCLUSIVE MODE");
            long t0 = System.nanoTime();
            run = verify(orphans, tmp, "--format", "json", "--only", "foreign-keys", "--tables", "shops", "--statement-timeout", "1s");
            millis = (System.nanoTime() - t0) / 1_000_000;
            holder.rollback();
        }
        assertEquals(3, run.exitCode(), "not checked is exit 3, never a quiet OK: " + run);
        JsonNode fks = DataFiles.check(run.json(), "foreign-keys");
        assertEquals("UNKNOWN", fks.get("status").asText());
        JsonNode f = only(DataFiles.findings(fks, "shops_country_code_fkey"));
        assertEquals("UNKNOWN", f.get("status").asText());
        assertTrue(f.get("message").asText().contains("timeout"), f.toString());
        assertTrue(millis < 15_000, "gave up after " + millis + " ms");

        CliRun bad = verify(orphans, tmp, "--statement-timeout", "soon");
        assertEquals(64, bad.exitCode(), bad.toString());
    }

    @Test
    void dataDirReadsPgControl(@TempDir Path tmp) {
        pg.assumeLocal();
        CliRun run = verify(orphans, tmp, "--format", "json", "--only", "controldata", "--data-dir", pg.dataDir().toString());
        assertEquals(0, run.exitCode(), run.toString());
        JsonNode control = DataFiles.check(run.json(), "controldata");
        assertEquals("OK", control.get("status").asText());
        assertTrue(control.get("summary").asText().startsWith("cluster state: in production"), control.toString());
        JsonNode details = control.get("findings").get(0).get("details");
        Map<String, String> fields = new HashMap<>();
        details.forEach(d -> {
            String[] kv = d.asText().split(": ", 2);
            fields.put(kv[0], kv[1]);
        });
        assertEquals("in production", fields.get("Database cluster state"));
        assertEquals(String.valueOf(pg.scalar(orphans, "SELECT system_identifier FROM pg_control_system()")),
                fields.get("Database system identifier"));
        assertEquals("1", fields.get("Data page checksum version"));

        CliRun wrong = verify(orphans, tmp, "--format", "json", "--only", "controldata", "--data-dir", tmp.resolve("nope").toString());
        assertEquals(3, wrong.exitCode(), wrong.toString());
        JsonNode blocked = DataFiles.check(wrong.json(), "controldata");
        assertEquals("SKIPPED", blocked.get("status").asText());
        assertTrue(blocked.get("blocked").asBoolean());
        assertTrue(blocked.get("summary").asText().contains("failed"), blocked.toString());
    }

    @Test
    void junitHasOneTestCasePerCheck(@TempDir Path tmp) throws Exception {
        CliRun run = verify(orphans, tmp, "--format", "junit", "--schema", "public", "--skip", "heap");
        assertEquals(2, run.exitCode(), run.toString());
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(run.out().getBytes(StandardCharsets.UTF_8)));
        NodeList cases = doc.getElementsByTagName("testcase");
        assertEquals(8, cases.getLength(), "seven database checks and critical-row-counts");
        Map<String, Element> byName = new HashMap<>();
        for (int i = 0; i < cases.getLength(); i++) {
            Element e = (Element) cases.item(i);
            byName.put(e.getAttribute("name"), e);
        }
        assertEquals(Set.of("invalid-indexes", "btree", "heap", "foreign-keys", "not-valid-constraints", "checksums", "controldata",
                "critical-row-counts"), byName.keySet());
        Element fk = byName.get("foreign-keys");
        assertEquals(1, fk.getElementsByTagName("failure").getLength());
        assertTrue(fk.getElementsByTagName("failure").item(0).getTextContent().contains("orders_customer_id_fkey"));
        assertEquals(1, byName.get("heap").getElementsByTagName("skipped").getLength());
        assertEquals(0, byName.get("btree").getChildNodes().getLength(), "passed");
        Element suite = doc.getDocumentElement();
        assertEquals("8", suite.getAttribute("tests"));
        assertEquals("2", suite.getAttribute("failures"), "foreign-keys and not-valid-constraints");
    }
}
