package dev.chronodr.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.core.Terminal;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** chrono-dr vacuum against a real cluster: one per class, a database per test. */
@PostgresTest
class VacuumCommandTest {
    private final PgCluster pg;

    @TempDir
    Path tmp;

    VacuumCommandTest(PgCluster pg) {
        this.pg = pg;
    }

    // ---- helpers -------------------------------------------------------------------------

    /** Runs statements on one connection, then makes the server publish this session's statistics. */
    private void sql(String db, String... statements) {
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
            if (c.getMetaData().getDatabaseMajorVersion() >= 15) {
                st.execute("SELECT pg_stat_force_next_flush()");
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A table of {@code rows} rows of which {@code updated} were updated once (so that many dead tuples). */
    private void deadTable(String db, String name, int rows, int updated) {
        sql(db, "CREATE TABLE " + name + " (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)",
                "INSERT INTO " + name + " SELECT g, md5(g::text) FROM generate_series(1, " + rows + ") g",
                "UPDATE " + name + " SET v = v || 'x' WHERE id <= " + updated);
    }

    /** Statistics arrive asynchronously before PostgreSQL 15: wait until the dead tuples show. */
    private long awaitDead(String db, String table, long atLeast) {
        long deadline = System.currentTimeMillis() + 5000;
        long dead;
        do {
            dead = stat(db, table, "n_dead_tup");
            if (dead >= atLeast) {
                return dead;
            }
            sleep(100);
        } while (System.currentTimeMillis() < deadline);
        throw new AssertionError(table + " shows " + dead + " dead tuples, expected at least " + atLeast);
    }

    private long stat(String db, String table, String column) {
        return ((Number) pg.scalar(db, "SELECT " + column + " FROM pg_stat_user_tables WHERE relname = '" + table + "'")).longValue();
    }

    private long relfilenode(String db, String relation) {
        return ((Number) pg.scalar(db, "SELECT relfilenode FROM pg_class WHERE relname = '" + relation + "'")).longValue();
    }

    private CliRun vacuum(String db, String... args) {
        return CliRun.run(pg.env(db), tmp, prepend(args));
    }

    private static String[] prepend(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "vacuum";
        System.arraycopy(args, 0, all, 1, args.length);
        return all;
    }

    private static JsonNode table(JsonNode report, String name) {
        for (JsonNode t : report.get("tables")) {
            if (t.get("table").asText().equals(name)) {
                return t;
            }
        }
        throw new AssertionError("no table " + name + " in " + report.toPrettyString());
    }

    private static List<String> names(JsonNode report) {
        List<String> out = new ArrayList<>();
        report.get("tables").forEach(t -> out.add(t.get("table").asText()));
        return out;
    }

    /** A session that holds a lock until closed, as a forgotten psql or a long report would. */
    private static final class Holder implements AutoCloseable {
        final Connection connection;
        final int pid;

        Holder(PgCluster pg, String db, String lockingStatement) throws SQLException {
            connection = pg.connect(db);
            connection.setAutoCommit(false);
            try (Statement st = connection.createStatement()) {
                st.execute(lockingStatement);
                try (ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                    rs.next();
                    pid = rs.getInt(1);
                }
            }
        }

        @Override
        public void close() throws SQLException {
            connection.rollback();
            connection.close();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- tests ---------------------------------------------------------------------------

    @Test
    void deadTuplesGoDownAfterVacuumAnalyze() {
        String db = pg.createDatabase("vac_dead");
        deadTable(db, "pages", 3000, 3000);
        deadTable(db, "users", 2000, 500);
        awaitDead(db, "pages", 3000);
        awaitDead(db, "users", 500);

        CliRun run = vacuum(db, "--analyze", "--format", "json");

        assertEquals(0, run.exitCode(), run.toString());
        JsonNode r = run.json();
        assertEquals(List.of("public.pages", "public.users"), names(r), "most dead tuples first");
        JsonNode pages = table(r, "public.pages");
        assertEquals("DONE", pages.get("status").asText());
        assertEquals(3000, pages.get("dead_tuples_before").asLong());
        assertEquals(0, pages.get("dead_tuples_after").asLong());
        assertEquals("VACUUM (ANALYZE) \"public\".\"pages\"", pages.get("steps").get(0).get("sql").asText());
        assertTrue(pages.get("duration_ms").asLong() >= 0);
        assertEquals(500, table(r, "public.users").get("dead_tuples_before").asLong());
        assertEquals(2, r.get("summary").get("done").asInt());
        // The server agrees: the dead tuples are gone and exactly one VACUUM and ANALYZE ran on each.
        for (String t : List.of("pages", "users")) {
            assertEquals(0, stat(db, t, "n_dead_tup"), t);
            assertEquals(1, stat(db, t, "vacuum_count"), t);
            assertEquals(1, stat(db, t, "analyze_count"), t);
        }

        CliRun text = vacuum(db, "--tables", "users");
        assertEquals(0, text.exitCode(), text.toString());
        assertTrue(text.out().contains("DONE     public.users  dead 0 -> 0"), text.out());
        assertTrue(text.out().contains("1 done, 0 skipped, 0 failed"), text.out());
    }

    @Test
    void minDeadPercentSelectsExactlyTheTablesAtOrOverIt() {
        String db = pg.createDatabase("vac_percent");
        deadTable(db, "clean", 1000, 0);          // 0%
        deadTable(db, "light", 1000, 100);        // 9.1%
        deadTable(db, "edge", 1000, 320);         // 24.2%
        deadTable(db, "heavy", 1000, 400);        // 28.6%
        deadTable(db, "worst", 1000, 1000);       // 50%
        awaitDead(db, "worst", 1000);
        awaitDead(db, "heavy", 400);
        awaitDead(db, "edge", 320);

        CliRun run = vacuum(db, "--min-dead-percent", "25", "--format", "json");

        assertEquals(0, run.exitCode(), run.toString());
        JsonNode r = run.json();
        assertEquals(List.of("public.worst", "public.heavy"), names(r));
        assertEquals(5, r.get("selection").get("considered").asInt());
        assertEquals("dead tuples 28.6% (400 of 1400) >= 25%", table(r, "public.heavy").get("reasons").get(0).asText());
        for (String t : List.of("worst", "heavy")) {
            assertEquals(1, stat(db, t, "vacuum_count"), t);
            assertEquals(0, stat(db, t, "n_dead_tup"), t);
        }
        for (String t : List.of("clean", "light", "edge")) {
            assertEquals(0, stat(db, t, "vacuum_count"), t + " must not be vacuumed");
        }
        assertEquals(320, stat(db, "edge", "n_dead_tup"));
    }

    @Test
    void minXidAgeSelectsTheOldTablesOldestFirst() {
        String db = pg.createDatabase("vac_xid");
        sql(db, "CREATE TABLE oldest (id int) WITH (autovacuum_enabled = false)");
        sql(db, "CREATE TEMP TABLE burn (i int)",
                // each subtransaction that writes takes a transaction ID of its own
                "DO $$ BEGIN FOR i IN 1..300 LOOP BEGIN INSERT INTO burn VALUES (i); EXCEPTION WHEN OTHERS THEN NULL; END; END LOOP; END $$");
        sql(db, "CREATE TABLE old (id int) WITH (autovacuum_enabled = false)");
        sql(db, "CREATE TEMP TABLE burn (i int)",
                "DO $$ BEGIN FOR i IN 1..300 LOOP BEGIN INSERT INTO burn VALUES (i); EXCEPTION WHEN OTHERS THEN NULL; END; END LOOP; END $$");
        sql(db, "CREATE TABLE young (id int) WITH (autovacuum_enabled = false)");

        CliRun run = vacuum(db, "--min-xid-age", "250", "--format", "json");

        assertEquals(0, run.exitCode(), run.toString());
        JsonNode r = run.json();
        assertEquals(List.of("public.oldest", "public.old"), names(r));
        assertTrue(table(r, "public.oldest").get("xid_age_before").asLong() >= 600);
        assertTrue(table(r, "public.oldest").get("reasons").get(0).asText().startsWith("transaction ID age "));
        assertEquals(0, stat(db, "young", "vacuum_count"));
    }

    @Test
    void aLockedTableIsSkippedAfterTheLockTimeoutWhileTheOthersComplete() throws Exception {
        String db = pg.createDatabase("vac_lock");
        deadTable(db, "busy", 2000, 2000);
        deadTable(db, "calm_a", 2000, 1500);
        deadTable(db, "calm_b", 2000, 1000);
        awaitDead(db, "calm_b", 1000);

        CliRun run;
        long elapsed;
        int holderPid;
        try (Holder holder = new Holder(pg, db, "LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")) {
            holderPid = holder.pid;
            long t0 = System.nanoTime();
            run = vacuum(db, "--lock-timeout", "700ms", "--jobs", "2", "--format", "json");
            elapsed = (System.nanoTime() - t0) / 1_000_000;
        }

        assertEquals(1, run.exitCode(), run.toString());
        JsonNode r = run.json();
        assertEquals(2, r.get("jobs").asInt());
        JsonNode busy = table(r, "public.busy");
        assertEquals("SKIPPED", busy.get("status").asText());
        String reason = busy.get("reason").asText();
        assertTrue(reason.contains("lock not granted within 700 ms (lock_timeout)"), reason);
        assertTrue(reason.contains("pid " + holderPid + " holds AccessExclusiveLock (idle in transaction"), reason);
        assertTrue(busy.get("size_estimated").asBoolean(), "a locked table is not measured (that would queue)");
        for (String t : List.of("public.calm_a", "public.calm_b")) {
            assertEquals("DONE", table(r, t).get("status").asText(), t);
            assertEquals(0, table(r, t).get("dead_tuples_after").asLong(), t);
        }
        assertEquals(1, r.get("summary").get("skipped").asInt());
        assertEquals(2, r.get("summary").get("done").asInt());
        assertTrue(elapsed < 8000, "gave up after the timeout instead of waiting: " + elapsed + " ms");
        assertEquals(0, stat(db, "busy", "vacuum_count"));
        assertEquals(2000, stat(db, "busy", "n_dead_tup"));

        CliRun text = vacuum(db, "--lock-timeout", "200ms", "--tables", "calm_a");
        assertEquals(0, text.exitCode(), text.toString());
    }

    @Test
    void progressOnATerminalShowsTheWaitForTheLock() throws Exception {
        String db = pg.createDatabase("vac_progress");
        deadTable(db, "held", 100, 50);
        CliRun run;
        try (Holder holder = new Holder(pg, db, "LOCK TABLE held IN ACCESS EXCLUSIVE MODE")) {
            run = CliRun.run(pg.env(db), tmp, "", new Terminal(false, false, true, false),
                    "vacuum", "--lock-timeout", "2s");
        }
        assertEquals(1, run.exitCode(), run.toString());
        assertTrue(run.err().contains("\rvacuum 0/1 tables done | public.held VACUUM: waiting for lock (relation)"), run.err());
        assertTrue(run.out().contains("SKIPPED  public.held"), run.out());

        CliRun quiet = vacuum(db, "--tables", "held");
        assertFalse(quiet.err().contains("waiting for lock"), "no progress when stderr is not a terminal: " + quiet.err());
    }

    @Test
    void analyzeWithReindexSaysThatEachIndexWasRebuilt() {
        String db = pg.createDatabase("vac_says_reindex");
        deadTable(db, "notes", 500, 100);
        sql(db, "CREATE INDEX notes_v ON notes (v)");

        CliRun run = vacuum(db, "--analyze", "--reindex", "--tables", "notes");

        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().contains("DONE     public.notes"), run.out());
        assertTrue(run.out().contains("done: REINDEX INDEX CONCURRENTLY public.notes_pkey"), run.out());
        assertTrue(run.out().contains("done: REINDEX INDEX CONCURRENTLY public.notes_v"), run.out());
    }

    @Test
    void fullConfirmedWithYesWarnsOnceInText() {
        String db = pg.createDatabase("vac_full_once");
        deadTable(db, "orders", 200, 100);

        CliRun run = vacuum(db, "--full", "--yes", "--tables", "orders");

        assertEquals(0, run.exitCode(), run.toString());
        String danger = "VACUUM FULL takes an ACCESS EXCLUSIVE lock";
        int onStdout = run.out().split(java.util.regex.Pattern.quote(danger), -1).length - 1;
        assertEquals(1, onStdout, run.out());
        assertFalse(run.err().contains(danger), "the same warning again on stderr: " + run.err());
    }

    @Test
    void fullWithoutConfirmationIsRefusedAndChangesNothing() {
        String db = pg.createDatabase("vac_full_refused");
        deadTable(db, "orders", 2000, 1000);
        awaitDead(db, "orders", 1000);
        long before = relfilenode(db, "orders");

        CliRun run = vacuum(db, "--full");

        assertEquals(64, run.exitCode(), run.toString());
        assertTrue(run.err().contains("refusing to run VACUUM FULL on 1 table of database vac_full_refused (each locked against all reads and writes"), run.err());
        assertTrue(run.err().contains("ACCESS EXCLUSIVE lock"), run.err());
        assertTrue(run.err().contains("pass --yes"), run.err());
        assertEquals(before, relfilenode(db, "orders"));
        assertEquals(0, stat(db, "orders", "vacuum_count"));
        assertEquals(1000, stat(db, "orders", "n_dead_tup"));

        CliRun json = vacuum(db, "--full", "--format", "json");
        assertEquals(64, json.exitCode());
        assertEquals(64, json.json().get("exit_code").asInt());
        assertTrue(json.json().get("error").get("message").asText().startsWith("refusing"));

        CliRun typedNo = CliRun.run(pg.env(db), tmp, "no\n", new Terminal(true, false, false, false), "vacuum", "--full");
        assertEquals(64, typedNo.exitCode(), typedNo.toString());
        assertEquals(before, relfilenode(db, "orders"));
    }

    @Test
    void fullConfirmedRewritesButSkipsATableAnOpenTransactionReads() throws Exception {
        String db = pg.createDatabase("vac_full");
        deadTable(db, "reading", 2000, 1000);
        deadTable(db, "quiet", 4000, 2000);
        awaitDead(db, "quiet", 2000);
        long readingBefore = relfilenode(db, "reading");
        long quietBefore = relfilenode(db, "quiet");

        CliRun run;
        try (Holder holder = new Holder(pg, db, "SELECT count(*) FROM reading")) {
            run = vacuum(db, "--full", "--analyze", "--yes", "--lock-timeout", "500ms", "--format", "json");
        }

        assertEquals(1, run.exitCode(), run.toString());
        JsonNode r = run.json();
        JsonNode reading = table(r, "public.reading");
        assertEquals("SKIPPED", reading.get("status").asText());
        assertTrue(reading.get("reason").asText().contains("holds AccessShareLock"), reading.toString());
        assertEquals("VACUUM (FULL, ANALYZE) \"public\".\"quiet\"", table(r, "public.quiet").get("steps").get(0).get("sql").asText());
        assertEquals("DONE", table(r, "public.quiet").get("status").asText());
        assertEquals(0, table(r, "public.quiet").get("dead_tuples_after").asLong());
        assertEquals(readingBefore, relfilenode(db, "reading"));
        assertNotEquals(quietBefore, relfilenode(db, "quiet"), "VACUUM FULL writes a new file");

        String warnings = r.get("warnings").toString();
        assertTrue(warnings.contains("ACCESS EXCLUSIVE lock on each table for its whole rewrite"), warnings);
        assertTrue(warnings.contains("needs ") && warnings.contains("free disk space at once"), warnings);
        assertTrue(run.err().contains("warning: VACUUM FULL takes an ACCESS EXCLUSIVE lock"), run.err());
        if (pg.isLocal()) {
            JsonNode free = r.get("free_space").get(0);
            assertTrue(free.get("checked").asBoolean(), free.toString());
            assertEquals(pg.dataDir().toString(), free.get("path").asText());
            assertTrue(free.get("free_bytes").asLong() > 0);
        }

        // Typed YES on a terminal is the other way to confirm.
        CliRun typed = CliRun.run(pg.env(db), tmp, "YES\n", new Terminal(true, false, false, false),
                "vacuum", "--full", "--tables", "reading");
        assertEquals(0, typed.exitCode(), typed.toString());
        assertTrue(typed.err().contains("Type YES to continue"), typed.err());
        assertNotEquals(readingBefore, relfilenode(db, "reading"));
    }

    @Test
    void reindexRebuildsAnIndexWithoutBlockingAConcurrentWriter() throws Exception {
        String db = pg.createDatabase("vac_reindex");
        sql(db, "CREATE TABLE events (id bigserial PRIMARY KEY, v text NOT NULL) WITH (autovacuum_enabled = false)",
                "INSERT INTO events (v) SELECT md5(g::text) FROM generate_series(1, 60000) g",
                "CREATE INDEX events_v_idx ON events (v)");
        long indexBefore = relfilenode(db, "events_v_idx");

        AtomicBoolean stop = new AtomicBoolean();
        List<long[]> inserts = Collections.synchronizedList(new ArrayList<>());
        Thread writer = new Thread(() -> {
            try (Connection c = pg.connect(db);
                 PreparedStatement ps = c.prepareStatement("INSERT INTO events (v) VALUES (md5(random()::text))")) {
                long until = System.currentTimeMillis() + 30_000;
                while (!stop.get() && System.currentTimeMillis() < until) {
                    long start = System.currentTimeMillis();
                    ps.executeUpdate();
                    inserts.add(new long[] {start, System.currentTimeMillis()});
                }
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }, "writer");
        writer.start();
        sleep(150);
        CliRun run = vacuum(db, "--reindex", "--tables", "events", "--format", "json");
        stop.set(true);
        writer.join();

        assertEquals(0, run.exitCode(), run.toString());
        JsonNode steps = table(run.json(), "public.events").get("steps");
        JsonNode rebuild = null;
        for (JsonNode s : steps) {
            if (s.get("sql").asText().equals("REINDEX INDEX CONCURRENTLY \"public\".\"events_v_idx\"")) {
                rebuild = s;
            }
        }
        assertTrue(rebuild != null, steps.toString());
        assertEquals("DONE", rebuild.get("status").asText());
        long from = OffsetDateTime.parse(rebuild.get("started_at").asText()).toInstant().toEpochMilli();
        long to = OffsetDateTime.parse(rebuild.get("finished_at").asText()).toInstant().toEpochMilli();
        List<long[]> during;
        synchronized (inserts) {
            during = inserts.stream().filter(i -> i[1] > from && i[1] < to).toList();
        }
        long slowest = inserts.stream().mapToLong(i -> i[1] - i[0]).max().orElse(0);
        assertTrue(during.size() >= 5, "inserts completed while the index was rebuilt: " + during.size()
                + " in " + (to - from) + " ms");
        // Not a burst at one end: the writer kept going through the whole rebuild.
        long middle = from + (to - from) / 2;
        assertTrue(during.stream().anyMatch(i -> i[1] < middle) && during.stream().anyMatch(i -> i[1] > middle),
                "inserts completed in both halves of the rebuild");
        assertNotEquals(indexBefore, relfilenode(db, "events_v_idx"), "the index was rebuilt");
        assertEquals(true, pg.scalar(db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_v_idx'::regclass"));
        assertEquals(60000L + inserts.size(), ((Number) pg.scalar(db, "SELECT count(*) FROM events")).longValue());
        System.out.printf("reindex: %d inserts completed during a %d ms rebuild, slowest insert %d ms%n",
                during.size(), to - from, slowest);
    }

    @Test
    void reindexRebuildsInvalidIndexesAndDropsLeftoversOfAFailedReindex() {
        String db = pg.createDatabase("vac_invalid");
        // A failed CREATE INDEX CONCURRENTLY leaves an invalid index; a failed REINDEX CONCURRENTLY a _ccnew copy.
        sql(db, "CREATE TABLE accounts (email text) WITH (autovacuum_enabled = false)",
                "INSERT INTO accounts VALUES ('a@x'), ('a@x'), ('b@x')");
        failing(db, "CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email)");
        failing(db, "REINDEX INDEX CONCURRENTLY accounts_email_key");
        sql(db, "DELETE FROM accounts WHERE ctid = (SELECT min(ctid) FROM accounts WHERE email = 'a@x')");
        assertEquals(2L, ((Number) pg.scalar(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid")).longValue());

        CliRun plain = vacuum(db, "--format", "json");
        assertEquals(0, plain.exitCode(), plain.toString());
        String notes = plain.json().get("indexes").toString();
        assertTrue(notes.contains("public.accounts_email_key_ccnew") && notes.contains("failed REINDEX CONCURRENTLY"), notes);
        assertTrue(notes.contains("rebuild it with: chrono-dr vacuum --reindex --tables public.accounts"), notes);

        CliRun run = vacuum(db, "--reindex", "--format", "json");
        assertEquals(0, run.exitCode(), run.toString());
        List<String> sqls = new ArrayList<>();
        table(run.json(), "public.accounts").get("steps").forEach(s -> sqls.add(s.get("sql").asText()));
        assertEquals(List.of("VACUUM \"public\".\"accounts\"",
                "DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"accounts_email_key_ccnew\"",
                "REINDEX INDEX CONCURRENTLY \"public\".\"accounts_email_key\""), sqls);
        assertEquals(List.of(Map.of("relname", "accounts_email_key", "indisvalid", true)), pg.query(db, """
                SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                WHERE i.indrelid = 'accounts'::regclass"""));
    }

    @Test
    void aReindexThatGivesUpDropsTheCopyItLeft() throws Exception {
        String db = pg.createDatabase("vac_giveup");
        sql(db, "CREATE TABLE items (id int PRIMARY KEY) WITH (autovacuum_enabled = false)",
                "INSERT INTO items SELECT generate_series(1, 1000)");
        CliRun run;
        // A reader's open transaction: REINDEX CONCURRENTLY must wait for it after building its copy.
        try (Holder holder = new Holder(pg, db, "SELECT count(*) FROM items")) {
            run = vacuum(db, "--reindex", "--lock-timeout", "500ms", "--format", "json");
        }
        assertEquals(1, run.exitCode(), run.toString());
        JsonNode items = table(run.json(), "public.items");
        assertEquals("SKIPPED", items.get("status").asText(), items.toString());
        assertTrue(items.get("reason").asText().startsWith("REINDEX INDEX CONCURRENTLY public.items_pkey: lock not granted"),
                items.toString());
        // The copy could not be dropped while the reader is there either; the report says what is left.
        JsonNode cleanup = items.get("steps").get(2);
        assertEquals("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"items_pkey_ccnew\"", cleanup.get("sql").asText());
        assertTrue(cleanup.get("message").asText().contains("is left behind"), cleanup.toString());

        // With the reader gone, the next run drops the leftover and rebuilds the index.
        CliRun again = vacuum(db, "--reindex", "--format", "json");
        assertEquals(0, again.exitCode(), again.toString());
        assertEquals(0L, ((Number) pg.scalar(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid")).longValue());
    }

    private void failing(String db, String statement) {
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            st.execute(statement);
            throw new AssertionError("expected to fail: " + statement);
        } catch (SQLException expected) {
            // the failure is the point: it leaves an invalid index behind
        }
    }

    @Test
    void dryRunPrintsThePlanAndChangesNothing() {
        String db = pg.createDatabase("vac_dry");
        deadTable(db, "t1", 2000, 1500);
        deadTable(db, "\"Odd \"\"Name\"\"\"", 100, 10);     // the table Odd "Name"
        awaitDead(db, "t1", 1500);
        String state = """
                SELECT string_agg(c.relname || ':' || c.relfilenode || ':' || coalesce(s.n_dead_tup, -1) || ':'
                                  || coalesce(s.vacuum_count + s.analyze_count, -1), ',' ORDER BY c.relname)
                FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
                WHERE c.relnamespace = 'public'::regnamespace""";
        Object before = pg.scalar(db, state);

        CliRun text = vacuum(db, "--dry-run", "--analyze", "--reindex");
        CliRun full = vacuum(db, "--dry-run", "--full", "--tables", "Odd \"Name\"", "--format", "json");
        CliRun json = vacuum(db, "--dry-run", "--min-dead-percent", "10", "--format", "json");

        assertEquals(0, text.exitCode(), text.toString());
        assertTrue(text.out().contains("dry run, nothing was changed"), text.out());
        assertTrue(text.out().contains("SET lock_timeout = '5000ms'"), text.out());
        assertTrue(text.out().contains("  1. public.t1  "), text.out());
        assertTrue(text.out().contains("       VACUUM (ANALYZE) \"public\".\"t1\";\n"
                + "       REINDEX INDEX CONCURRENTLY \"public\".\"t1_pkey\";\n"), text.out());
        assertTrue(text.out().contains("VACUUM (ANALYZE) \"public\".\"Odd \"\"Name\"\"\";"), text.out());

        assertEquals(0, full.exitCode(), "a dry run of --full needs no confirmation: " + full);
        JsonNode f = full.json();
        assertTrue(f.get("dry_run").asBoolean());
        assertEquals("VACUUM (FULL) \"public\".\"Odd \"\"Name\"\"\"", f.get("tables").get(0).get("steps").get(0).get("sql").asText());
        assertEquals("PLANNED", f.get("tables").get(0).get("status").asText());
        assertTrue(f.get("tables").get(0).get("estimated_bytes").asLong() > 0);

        assertEquals(List.of("public.t1"), names(json.json()));
        assertEquals("dead tuples 42.9% (1500 of 3500) >= 10%", table(json.json(), "public.t1").get("reasons").get(0).asText());

        assertEquals(before, pg.scalar(db, state), "nothing changed");
    }

    @Test
    void unknownTablesAreRefusedByName() {
        String db = pg.createDatabase("vac_unknown");
        deadTable(db, "real", 10, 0);
        CliRun run = vacuum(db, "--tables", "real,nope,Real");
        assertEquals(64, run.exitCode(), run.toString());
        assertTrue(run.err().contains("unknown tables 'nope', 'Real' in database vac_unknown"), run.err());
        assertEquals(0, stat(db, "real", "vacuum_count"));
    }

    @Test
    void blockingReindexNeedsConfirmationAndThenRunsReindexDatabase() {
        String db = pg.createDatabase("vac_blocking");
        deadTable(db, "t", 1000, 0);
        long before = relfilenode(db, "t_pkey");

        CliRun refused = vacuum(db, "--reindex", "--blocking");
        assertEquals(64, refused.exitCode(), refused.toString());
        assertTrue(refused.err().contains("refusing to run REINDEX DATABASE on vac_blocking"), refused.err());
        assertEquals(before, relfilenode(db, "t_pkey"));

        CliRun run = vacuum(db, "--reindex", "--blocking", "--yes", "--format", "json");
        assertEquals(0, run.exitCode(), run.toString());
        JsonNode step = run.json().get("database_steps").get(0);
        assertEquals("REINDEX DATABASE \"vac_blocking\"", step.get("sql").asText());
        assertEquals("DONE", step.get("status").asText());
        long afterDatabase = relfilenode(db, "t_pkey");
        assertNotEquals(before, afterDatabase);

        CliRun table = vacuum(db, "--reindex", "--blocking", "--yes", "--tables", "t", "--format", "json");
        assertEquals(0, table.exitCode(), table.toString());
        assertEquals("REINDEX TABLE \"public\".\"t\"", table(table.json(), "public.t").get("steps").get(1).get("sql").asText());
        assertTrue(table.json().get("database_steps").isEmpty());
        assertNotEquals(afterDatabase, relfilenode(db, "t_pkey"));
    }

    @Test
    void jobsStayWithinTheConnectionBudget() {
        String db = pg.createDatabase("vac_jobs");
        sql(db, "DO $$ BEGIN FOR i IN 1..40 LOOP EXECUTE format('CREATE TABLE t%s (id int)', i); END LOOP; END $$");
        long free = ((Number) pg.scalar(db, """
                SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
                       - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')""")).longValue();

        JsonNode many = vacuum(db, "--dry-run", "--jobs", "64", "--format", "json").json();
        // The CLI's own planning connection is one more client than this query saw; allow either.
        long jobs = many.get("jobs").asLong();
        assertTrue(jobs == (free - 1) / 2 || jobs == (free - 2) / 2, jobs + " jobs with " + free + " free slots");
        assertTrue(many.get("jobs_note").asText().contains("free connection slots"), many.toString());

        JsonNode few = vacuum(db, "--dry-run", "--jobs", "8", "--tables", "t1,t2", "--format", "json").json();
        assertEquals(2, few.get("jobs").asInt());
        assertEquals("--jobs 8 lowered to 2: only 2 tables", few.get("jobs_note").asText());

        CliRun run = vacuum(db, "--jobs", "4", "--format", "json");
        assertEquals(0, run.exitCode(), run.toString());
        assertEquals(40, run.json().get("summary").get("done").asInt());
    }

    @Test
    void aRoleThatMayNotVacuumGetsSkipsNotSilenceAndNoDiskCheck() {
        String db = pg.createDatabase("vac_role");
        deadTable(db, "owned_by_postgres", 100, 50);
        pg.execute(db, "DROP ROLE IF EXISTS vac_app");
        pg.execute(db, "CREATE ROLE vac_app LOGIN PASSWORD 'app-secret'");
        pg.execute(db, "GRANT SELECT ON owned_by_postgres TO vac_app");
        sql(db, "CREATE TABLE owned_by_app (id int) WITH (autovacuum_enabled = false)", "ALTER TABLE owned_by_app OWNER TO vac_app");
        Map<String, String> env = new java.util.HashMap<>(pg.env(db));
        env.put("PGUSER", "vac_app");
        env.put("PGPASSWORD", "app-secret");

        CliRun run = CliRun.run(env, tmp, "vacuum", "--format", "json");

        assertEquals(1, run.exitCode(), run.toString());
        JsonNode notOwned = table(run.json(), "public.owned_by_postgres");
        assertEquals("SKIPPED", notOwned.get("status").asText());
        assertTrue(notOwned.get("reason").asText().contains("skipping"), notOwned.toString());
        assertEquals("DONE", table(run.json(), "public.owned_by_app").get("status").asText());
        assertEquals(0, stat(db, "owned_by_postgres", "vacuum_count"));

        // Without the right to read data_directory, the free-space check says it could not look.
        JsonNode full = CliRun.run(env, tmp, "vacuum", "--full", "--dry-run", "--format", "json").json();
        JsonNode free = full.get("free_space").get(0);
        assertFalse(free.get("checked").asBoolean(), free.toString());
        assertTrue(free.get("note").asText().contains("may not read data_directory"), free.toString());
        assertTrue(full.get("warnings").toString().contains("could not check free space for tablespace pg_default"));
        assertFalse(run.out().contains("app-secret") || full.toString().contains("app-secret"));
    }

    @Test
    void anInterruptedRunCancelsItsStatementsOnTheServer() throws Exception {
        ActiveWork work = new ActiveWork(1);
        long[] failedAfter = {-1};
        String[] state = {null};
        Thread worker = new Thread(() -> {
            try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
                work.track(st);
                long t0 = System.nanoTime();
                try {
                    st.execute("SELECT pg_sleep(30)");
                } catch (SQLException e) {
                    state[0] = e.getSQLState();
                    failedAfter[0] = (System.nanoTime() - t0) / 1_000_000;
                }
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
        worker.start();
        long deadline = System.currentTimeMillis() + 10_000;
        while (((Number) pg.scalar("postgres", "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                + "AND query = 'SELECT pg_sleep(30)'")).longValue() == 0 && System.currentTimeMillis() < deadline) {
            sleep(50);
        }
        work.cancelAll();   // what the shutdown hook does on Ctrl-C
        worker.join(10_000);
        assertEquals("57014", state[0], "query_canceled");
        assertTrue(failedAfter[0] < 5000, failedAfter[0] + " ms");
    }

    @Test
    void pgRepackIsOfferedWhenItsExtensionIsInstalled() {
        String db = pg.createDatabase("vac_repack");
        Assumptions.assumeTrue(pg.scalar(db, "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_repack'") != null,
                "pg_repack is not installed on this server (Debian: postgresql-NN-repack)");
        sql(db, "CREATE EXTENSION pg_repack");
        deadTable(db, "big", 1000, 500);

        CliRun run = vacuum(db, "--full", "--dry-run", "--format", "json");

        assertEquals(0, run.exitCode(), run.toString());
        String command = run.json().get("pg_repack").get("command").asText();
        assertEquals("pg_repack -h " + pg.host() + " -p " + pg.port() + " -U " + pg.superuser() + " -d vac_repack --no-order "
                + "--table=public.big", command);
        assertTrue(run.json().get("warnings").toString().contains("To use it instead, run: " + command));
        assertEquals(0, stat(db, "big", "vacuum_count"), "pg_repack is offered, never run");
    }
}
