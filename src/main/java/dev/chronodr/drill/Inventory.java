package dev.chronodr.drill;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.chronodr.repo.ArchiveToc;

/**
 * The schema objects of a restored database, keyed the way an archive's table of
 * contents names them, so the two can be compared: every table, index, constraint,
 * sequence, view, function, trigger and extension in the archive must exist after the
 * restore.
 */
final class Inventory {
    private Inventory() {
    }

    static final Set<String> COMPARED = Set.of("TABLE", "INDEX", "CONSTRAINT", "FK CONSTRAINT", "SEQUENCE", "VIEW",
            "MATERIALIZED VIEW", "FUNCTION", "PROCEDURE", "TRIGGER", "EXTENSION");

    private static final String OBJECTS = """
            SELECT CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'TABLE' WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                  WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'INDEX' END || ' ' || n.nspname || ' ' || c.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm', 'i', 'I') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_toast%'
            UNION ALL
            SELECT CASE WHEN con.contype = 'f' THEN 'FK CONSTRAINT' ELSE 'CONSTRAINT' END || ' ' || n.nspname || ' '
                   || coalesce(c.relname, t.typname) || ' ' || con.conname
            FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
            LEFT JOIN pg_class c ON c.oid = con.conrelid LEFT JOIN pg_type t ON t.oid = con.contypid
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
            UNION ALL
            SELECT 'TRIGGER ' || n.nspname || ' ' || c.relname || ' ' || tg.tgname
            FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT tg.tgisinternal
            UNION ALL
            SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END || ' ' || n.nspname || ' '
                   || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
            UNION ALL
            SELECT 'EXTENSION - ' || extname FROM pg_extension
            """;

    static Set<String> of(Connection c) throws SQLException {
        Set<String> keys = new HashSet<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(OBJECTS)) {
            while (rs.next()) {
                keys.add(rs.getString(1));
            }
        }
        return keys;
    }

    /** Archive objects missing from the restored database. */
    static List<String> missing(List<ArchiveToc.Entry> toc, Set<String> restored) {
        List<String> out = new ArrayList<>();
        for (ArchiveToc.Entry e : toc) {
            if (COMPARED.contains(e.desc()) && !restored.contains(e.key())) {
                out.add(e.key());
            }
        }
        return out;
    }

    /** How many archive objects of each kind were compared. */
    static Map<String, Integer> counts(List<ArchiveToc.Entry> toc) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (ArchiveToc.Entry e : toc) {
            if (COMPARED.contains(e.desc())) {
                out.merge(e.desc(), 1, Integer::sum);
            }
        }
        return out;
    }
}
