package dev.chronodr.restore;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.pg.Identifiers;
import dev.chronodr.repo.BackupManifest;

/**
 * What a restored database was checked for: each table's row count against the manifest
 * (counted in the dump's own snapshot, so they must be equal), and every foreign key
 * without orphans. A validated foreign key was checked by PostgreSQL itself when the
 * restore added it (pg_restore stops at the first failing statement), so only NOT VALID
 * ones, which PostgreSQL never checked, are scanned for orphans here.
 */
public record Verification(List<TableCount> tables, List<ForeignKey> foreignKeys, String note) {

    public record TableCount(String table, Long expected, Long actual) {
        public boolean ok() {
            return expected == null || expected.equals(actual);
        }
    }

    /** {@code checkedBy}: "postgresql" (validated when the restore added it) or "scan" (NOT VALID: counted here). */
    public record ForeignKey(String table, String constraint, String references, long orphans, String checkedBy) {
        public boolean ok() {
            return orphans == 0;
        }
    }

    @com.fasterxml.jackson.annotation.JsonProperty
    public boolean ok() {
        return tables.stream().allMatch(TableCount::ok) && foreignKeys.stream().allMatch(ForeignKey::ok);
    }

    @JsonIgnore
    public List<String> problems() {
        List<String> out = new ArrayList<>();
        tables.stream().filter(t -> !t.ok()).forEach(t -> out.add(t.table() + ": " + (t.actual() == null ? "missing" : t.actual() + " rows")
                + ", manifest says " + t.expected()));
        foreignKeys.stream().filter(f -> !f.ok()).forEach(f -> out.add(f.table() + " " + f.constraint() + ": " + f.orphans()
                + " row(s) without a match in " + f.references()));
        return out;
    }

    // Foreign keys with their column names in key order; unnest WITH ORDINALITY pairs conkey with confkey.
    private static final String FOREIGN_KEYS = """
            SELECT c.conname, cn.nspname, cl.relname, fn.nspname AS fnsp, fl.relname AS frel,
                   array_agg(a.attname ORDER BY k.ord) AS cols, array_agg(fa.attname ORDER BY k.ord) AS fcols, c.convalidated
              FROM pg_constraint c
              JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cl.relnamespace
              JOIN pg_class fl ON fl.oid = c.confrelid JOIN pg_namespace fn ON fn.oid = fl.relnamespace
              CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, fcol, ord)
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col
              JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = k.fcol
             WHERE c.contype = 'f' AND cn.nspname NOT IN ('pg_catalog', 'information_schema')
               AND c.conparentid = 0
             GROUP BY c.oid, c.conname, cn.nspname, cl.relname, fn.nspname, fl.relname, c.convalidated
             ORDER BY cn.nspname, cl.relname, c.conname
            """;

    private static final String TABLE_EXISTS = """
            SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')
            """;

    /** Runs both checks on a connection to the restored database; {@code manifestTables} may be null. */
    public static Verification run(Connection conn, List<BackupManifest.TableEntry> manifestTables) throws SQLException {
        List<TableCount> counts = new ArrayList<>();
        String note = null;
        if (manifestTables == null) {
            note = "no manifest (legacy or stock dump): row counts not compared";
        } else {
            for (BackupManifest.TableEntry t : manifestTables) {
                counts.add(new TableCount(t.qualifiedName(), t.rows(), count(conn, t)));
            }
        }
        return new Verification(counts, foreignKeys(conn), note);
    }

    private static Long count(Connection conn, BackupManifest.TableEntry t) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(TABLE_EXISTS)) {
            ps.setString(1, t.schema());
            ps.setString(2, t.name());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
            }
        }
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM " + Identifiers.qualified(t.schema(), t.name()))) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static List<ForeignKey> foreignKeys(Connection conn) throws SQLException {
        record Fk(String name, String schema, String table, String fschema, String ftable, String[] cols, String[] fcols, boolean validated) {
        }
        List<Fk> fks = new ArrayList<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(FOREIGN_KEYS)) {
            while (rs.next()) {
                fks.add(new Fk(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                        strings(rs.getArray(6)), strings(rs.getArray(7)), rs.getBoolean(8)));
            }
        }
        List<ForeignKey> out = new ArrayList<>();
        for (Fk fk : fks) {
            if (fk.validated()) {
                out.add(new ForeignKey(fk.schema() + "." + fk.table(), fk.name(), fk.fschema() + "." + fk.ftable(), 0, "postgresql"));
                continue;
            }
            // MATCH SIMPLE: a row with any NULL in the key references nothing and is not an orphan.
            StringBuilder notNull = new StringBuilder();
            StringBuilder join = new StringBuilder();
            for (int i = 0; i < fk.cols().length; i++) {
                String c = "c." + Identifiers.quote(fk.cols()[i]);
                notNull.append(i == 0 ? "" : " AND ").append(c).append(" IS NOT NULL");
                join.append(i == 0 ? "" : " AND ").append("p.").append(Identifiers.quote(fk.fcols()[i])).append(" = ").append(c);
            }
            String sql = "SELECT count(*) FROM " + Identifiers.qualified(fk.schema(), fk.table()) + " c WHERE " + notNull
                    + " AND NOT EXISTS (SELECT 1 FROM " + Identifiers.qualified(fk.fschema(), fk.ftable()) + " p WHERE " + join + ")";
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                out.add(new ForeignKey(fk.schema() + "." + fk.table(), fk.name(), fk.fschema() + "." + fk.ftable(), rs.getLong(1), "scan"));
            }
        }
        return out;
    }

    private static String[] strings(Array a) throws SQLException {
        return (String[]) a.getArray();
    }
}
