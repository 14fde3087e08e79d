package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** restore --backup-file with plain SQL: hostile files run nothing, a real pg_dump dump still restores. */
@PostgresTest
class PlainSqlRestoreTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    PlainSqlRestoreTest(PgCluster pg) {
        this.pg = pg;
    }

    private long count(String sql) {
        return ((Number) pg.scalar("postgres", sql)).longValue();
    }

    @Test
    void hostileFilesAreRefusedBeforeAnythingIsTouched() throws Exception {
        String db = pg.createDatabase("plain_live");
        pg.execute(db, "CREATE TABLE keep (id int); INSERT INTO keep VALUES (1)");
        Path mark = dir.resolve("ran");
        String touch = "touch " + mark;
        Files.writeString(dir.resolve("inc.sql"), "CREATE TABLE included (id int);\n");
        List<String> hostile = List.of(
                "CREATE TABLE a (id int);\n\\! " + touch + "\n",
                "CREATE TABLE a (id int);\n   \\c   postgres\nCREATE TABLE written_elsewhere (id int);\n",
                "CREATE TABLE a (id int);\n\t\\connect postgres\nCREATE TABLE written_elsewhere (id int);\n",
                "\\o |" + touch + "\nSELECT 1;\n",
                "CREATE TABLE a (id int);\n\\copy a from program '" + touch + "'\n",
                "\\i " + dir.resolve("inc.sql") + "\n",
                "\\ir inc.sql\n",
                "\\setenv PAGER '" + touch + "'\n",
                "SELECT 'CREATE TABLE gexec_ran (id int)' \\gexec\n",
                "SELECT 1; \\! " + touch + "\n",
                "COPY (SELECT 1) TO STDOUT;\n\\! " + touch + "\n",
                "SET standard_conforming_strings = off;\nSELECT 'a\\'; \\! " + touch + "; --';\n");
        int n = 0;
        for (String sql : hostile) {
            Path file = dir.resolve("hostile" + (++n) + ".sql");
            Files.writeString(file, sql);
            CliRun beside = CliRun.run(pg.env(db), dir, "restore", "--backup-file", file.toString(), "--target-db", "plain_copy");
            assertEquals(1, beside.exitCode(), sql + "\n" + beside);
            assertTrue(beside.err().matches("(?s).*refused at line \\d+: .*nothing was touched.*"), beside.err());
            assertEquals(1, beside.err().strip().lines().filter(l -> l.contains("refused")).count(), beside.err());
            CliRun replace = CliRun.run(pg.env(db), dir, "restore", "--backup-file", file.toString(), "--yes");
            assertEquals(1, replace.exitCode(), sql + "\n" + replace);
            assertFalse(Files.exists(mark), "the hostile command ran: " + sql);
            assertEquals(0, count("SELECT count(*) FROM pg_database WHERE datname IN ('plain_copy') OR datname LIKE 'plain_live_%'"), sql);
            assertEquals(1, ((Number) pg.scalar(db, "SELECT count(*) FROM keep")).longValue());
            assertEquals(0, count("SELECT count(*) FROM pg_tables WHERE tablename IN ('written_elsewhere', 'gexec_ran', 'included')"));
        }
        CliRun oneLine = CliRun.run(pg.env(db), dir, "restore", "--backup-file", dir.resolve("hostile1.sql").toString(), "--target-db", "plain_copy");
        assertTrue(oneLine.err().contains("line 2: psql meta-command \\!"), oneLine.err());
    }

    @Test
    void aRealPlainDumpWithBackslashesAndTabsInItsDataRestores() throws Exception {
        String db = pg.createDatabase("plain_src");
        pg.execute(db, """
                CREATE TABLE t (id int PRIMARY KEY, v text CHECK (v !~ '^\\d+\\\\$'));
                INSERT INTO t VALUES (1, E'back\\\\slash'), (2, E'tab\\there'), (3, E'\\\\.'), (4, E'\\\\! id'),
                  (5, E'line\\nbreak'), (6, E'\\\\connect postgres'), (7, 'quote''s'), (8, E'ends with \\\\');
                CREATE FUNCTION f(x text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN regexp_replace(x, '\\\\', '/', 'g'); END $$;
                COMMENT ON TABLE t IS 'rows with \\ and tabs';
                """);
        Path file = dir.resolve("plain.sql");
        var runner = new dev.chronodr.process.ProcessRunner(pg.env(db));
        runner.run(dev.chronodr.process.ProcessSpec.of(pg.binDir().resolve("pg_dump").toString(), "-f", file.toString(), db));
        assertTrue(Files.readString(file).contains("\\restrict"), "pg_dump 15.14+ writes \\restrict into plain dumps");
        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--backup-file", file.toString(), "--target-db", "plain_dst", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        String rows = "SELECT string_agg(id || '=' || v, '|' ORDER BY id) FROM t";
        assertEquals(pg.scalar(db, rows), pg.scalar("plain_dst", rows));
        assertEquals("a/b", pg.scalar("plain_dst", "SELECT f(E'a\\\\b')"));
        Map<String, Object> row = pg.query("plain_dst", "SELECT v FROM t WHERE id = 2").get(0);
        assertEquals("tab\there", row.get("v"));
    }

    @Test
    void withThisPsqlTheStreamIsRestrictedSoPsqlItselfRefusesCommands() throws Exception {
        var env = pg.env("postgres");
        var runner = new dev.chronodr.process.ProcessRunner(env);
        var tools = new dev.chronodr.pg.PgTools(dev.chronodr.pg.ExecSettings.local(), pg.connection("postgres"), runner,
                new dev.chronodr.pg.ToolLocator(runner, env), dev.chronodr.pg.PgVersion.ofMajor(15));
        String key = RestoreService.restrictKey(tools);
        org.junit.jupiter.api.Assumptions.assumeTrue(key != null, "this psql has no \\restrict (before 15.14)");
        assertTrue(key.matches("[A-Za-z0-9]{32}"), key);
        // What the filter would have refused: psql, restricted with the key, refuses it too.
        Path mark = dir.resolve("ran-under-restrict");
        java.io.ByteArrayOutputStream stream = new java.io.ByteArrayOutputStream();
        PlainSqlGuard.copy(new java.io.ByteArrayInputStream("SELECT 1;\n".getBytes()), stream, key);
        stream.write(("\\! touch " + mark + "\n").getBytes());
        List<String> args = new java.util.ArrayList<>(tools.connectionArgs());
        args.addAll(List.of("-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-f", "-"));
        var result = runner.execute(tools.spec(dev.chronodr.pg.PgTool.PSQL, args).withStdin(out -> out.write(stream.toByteArray())));
        assertTrue(result.exitCode() != 0, result.toString());
        assertFalse(Files.exists(mark), "psql ran a command in restricted mode");
    }
}
