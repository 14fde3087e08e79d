package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** The line filter alone: what psql would run as a command is refused, what pg_dump writes passes. */
class PlainSqlGuardTest {

    private static PlainSqlGuard.Refused refused(String sql) {
        return assertThrows(PlainSqlGuard.Refused.class, () -> PlainSqlGuard.check(new ByteArrayInputStream(sql.getBytes(StandardCharsets.UTF_8))),
                sql);
    }

    private static void passes(String sql) {
        assertDoesNotThrow(() -> PlainSqlGuard.check(new ByteArrayInputStream(sql.getBytes(StandardCharsets.UTF_8))), sql);
    }

    @Test
    void metaCommandsAnywherePsqlReadsThemAreRefusedWithTheirLine() {
        PlainSqlGuard.Refused r = refused("CREATE TABLE a (id int);\n\\! id\n");
        assertEquals(2, r.line());
        assertEquals("\\!", r.command());
        assertEquals("\\c", refused("SELECT 1;\n \t\\c   postgres\n").command());
        assertEquals(2, refused("SELECT 1;\n\t \\connect other\n").line());
        assertEquals("\\!", refused("select 1; \\! id\n").command());
        assertEquals("\\gexec", refused("SELECT 'DROP TABLE x' \\gexec\n").command());
        assertEquals("\\o", refused("\\o |id\n").command());
        assertEquals("\\copy", refused("\\copy a from program 'id'\n").command());
        assertEquals("\\i", refused("\\i /etc/passwd\n").command());
        assertEquals("\\ir", refused("\\ir x.sql\n").command());
        assertEquals("\\setenv", refused("\\setenv PAGER id\n").command());
        assertEquals("\\.", refused("SELECT 1;\n\\.\n").command(), "\\. outside COPY data");
        // after a string, a comment, a dollar quote or a multi-line statement closes, SQL resumes
        refused("SELECT 'a', \"b\" /* c */, $x$ d $x$ \\! id\n");
        refused("SELECT 'a\nb' \\! id\n");
        refused("/* a\n/* nested */ still comment */ \\! id\n");
        // COPY that does not read stdin: what follows is SQL to psql
        refused("COPY (SELECT a FROM stdin) TO STDOUT;\n\\! id\n");
        refused("COPY t FROM stdin; SELECT 1;\n");
        // readings that depend on standard_conforming_strings or on psql's version
        refused("SET standard_conforming_strings = off;\nSELECT 'a\\'; \\! id; --';\n");
        refused("SELECT 1e$a$ 'x $a$ \\! id ';\n");
        // psql's whitespace is ASCII: an em space is part of an identifier, so $a$ below starts no dollar quote
        refused("SELECT \u2003$a$ \\! id $a$;\n");
        // a client-only encoding hides ASCII-looking second bytes from psql's lexer
        refused("SET client_encoding = 'SJIS';\nSELECT E'\u0082\\'; \\! id; --';\n");
        refused("SET NAMES big5;\n");
    }

    @Test
    void whatPgDumpWritesPasses() {
        passes("""
                \\restrict abcDEF123
                SET standard_conforming_strings = on;
                CREATE TABLE public.t (id integer, v text, CONSTRAINT v_digits CHECK ((v ~ '^\\d+$'::text)));
                CREATE FUNCTION public.f() RETURNS text LANGUAGE plpgsql AS $_$ BEGIN RETURN E'\\\\ \\n \\' ' || '\\'; END $_$;
                CREATE FUNCTION public.g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;
                COMMENT ON TABLE public.t IS 'a \\ b';
                COPY public.t (id, v) FROM stdin;
                1\tback\\\\slash \\\\! id
                2\t\\\\.
                \\! this is data
                \\.
                COPY public."copy" (stdin) FROM stdin;
                \\c data too
                \\.
                SELECT 'x' -- \\! in a comment
                ;
                \\unrestrict abcDEF123
                """);
    }

    @Test
    void theStreamStartsRestrictedAndDropsTheDumpsOwnRestrictLines() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PlainSqlGuard.copy(new ByteArrayInputStream("\\restrict abc\nSELECT 1;\n\\unrestrict abc\n".getBytes(StandardCharsets.UTF_8)), out, "KEY1");
        assertEquals("\\restrict KEY1\n\nSELECT 1;\n\n", out.toString(StandardCharsets.UTF_8));
        ByteArrayOutputStream partial = new ByteArrayOutputStream();
        assertThrows(PlainSqlGuard.Refused.class, () -> PlainSqlGuard.copy(
                new ByteArrayInputStream("SELECT 1;\n\\! id\nSELECT 2;\n".getBytes(StandardCharsets.UTF_8)), partial, null));
        assertTrue(!partial.toString(StandardCharsets.UTF_8).contains("\\!"), "the refused line is never written to psql");
    }

    @Test
    void copyDataIsStreamedWhateverTheLengthOfARowAndEndsOnlyAtItsMarker() throws Exception {
        String row = "1\t" + "\\! x ".repeat(40_000) + "\n";
        String sql = "COPY public.t (id, v) FROM stdin;\r\n" + row + "\\.x\n" + row + "\\.\r\n" + "SELECT 1;\r\n\\! id\r\n";
        PlainSqlGuard.Refused r = refused(sql);
        assertEquals(7, r.line(), "two lines after the data, counted across rows longer than the read buffer");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PlainSqlGuard.copy(new ByteArrayInputStream(("COPY t FROM stdin;\n" + row + "\\.").getBytes(StandardCharsets.UTF_8)), out, null);
        assertEquals("COPY t FROM stdin;\n" + row + "\\.", out.toString(StandardCharsets.UTF_8), "data passes byte for byte");
    }
}
