package dev.chronodr.verify;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

import dev.chronodr.core.Status;
import dev.chronodr.pg.Identifiers;

/**
 * Orphans for every foreign key whose referencing table is in scope, found from
 * {@code pg_constraint} (multi-column keys, partitioned tables, cross-type keys with the
 * constraint's own equality operators). MATCH SIMPLE, the default: a row with any NULL in
 * the key columns is no orphan. MATCH FULL: a row with some but not all key columns NULL is
 * one. Rows get orphaned while triggers are off ({@code session_replication_role = replica},
 * {@code DISABLE TRIGGER}) or through damage. Plain SELECTs: AccessShareLock only.
 */
public final class ForeignKeyCheck implements VerifyCheck {
    static final String NAME = "foreign-keys";
    private static final int SAMPLE = 5;
    private static final Pattern OPERATOR = Pattern.compile("[+\\-*/<>=~!@#%^&|`?]+");

    private static final String KEYS = ResolvedScope.CTE + """
            SELECT con.conname, fn.nspname, f.relname, f.relkind::text, pn.nspname, p.relname, p.relkind::text,
                   con.convalidated, con.confmatchtype::text,
                   ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                         JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord),
                   ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                         JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord),
                   ARRAY(SELECT opn.nspname::text FROM unnest(con.conpfeqop) WITH ORDINALITY e(op, ord)
                         JOIN pg_catalog.pg_operator o ON o.oid = e.op
                         JOIN pg_catalog.pg_namespace opn ON opn.oid = o.oprnamespace ORDER BY e.ord),
                   ARRAY(SELECT o.oprname::text FROM unnest(con.conpfeqop) WITH ORDINALITY e(op, ord)
                         JOIN pg_catalog.pg_operator o ON o.oid = e.op ORDER BY e.ord)
            FROM pg_catalog.pg_constraint con
            JOIN scope s ON s.oid = con.conrelid
            JOIN pg_catalog.pg_class f ON f.oid = con.conrelid
            JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace
            JOIN pg_catalog.pg_class p ON p.oid = con.confrelid
            JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
            WHERE con.contype = 'f' AND con.conparentid = 0
            ORDER BY fn.nspname, f.relname, con.conname
            """;

    /** One foreign key as the catalog describes it. */
    record ForeignKey(String name, String schema, String table, String kind, String refSchema, String refTable,
                      String refKind, boolean validated, String matchType, List<String> columns, List<String> refColumns,
                      List<String> opSchemas, List<String> opNames) {

        String display() {
            return name + " on " + schema + "." + table;
        }

        String describe() {
            return schema + "." + table + " (" + String.join(", ", columns) + ") -> " + refSchema + "." + refTable
                    + " (" + String.join(", ", refColumns) + ")";
        }

        /** The WHERE condition that is true for orphan rows of alias c. */
        String orphanCondition() {
            List<String> notNull = new ArrayList<>();
            List<String> match = new ArrayList<>();
            for (int i = 0; i < columns.size(); i++) {
                String fk = "c." + Identifiers.quote(columns.get(i));
                notNull.add(fk + " IS NOT NULL");
                match.add("p." + Identifiers.quote(refColumns.get(i)) + " " + operator(i) + " " + fk);
            }
            String ref = (refKind.equals("p") ? "" : "ONLY ") + Identifiers.qualified(refSchema, refTable) + " p";
            String cond = String.join(" AND ", notNull) + " AND NOT EXISTS (SELECT 1 FROM " + ref + " WHERE "
                    + String.join(" AND ", match) + ")";
            if (matchType.equals("f") && columns.size() > 1) {
                String cols = String.join(", ", columns.stream().map(col -> "c." + Identifiers.quote(col)).toList());
                cond = "(" + cond + ") OR pg_catalog.num_nulls(" + cols + ") BETWEEN 1 AND " + (columns.size() - 1);
            }
            return cond;
        }

        /** The constraint's own PK = FK operator; plain = when it is the built-in one. */
        private String operator(int i) {
            String schema = i < opSchemas.size() ? opSchemas.get(i) : "pg_catalog";
            String op = i < opNames.size() ? opNames.get(i) : "=";
            if (!OPERATOR.matcher(op).matches()) {
                op = "=";
            }
            return schema.equals("pg_catalog") && op.equals("=") ? "=" : "OPERATOR(" + Identifiers.quote(schema) + "." + op + ")";
        }

        String from() {
            return (kind.equals("p") ? "" : "ONLY ") + Identifiers.qualified(schema, table) + " c";
        }

        String listQuery() {
            return "SELECT c.* FROM " + from() + " WHERE " + orphanCondition() + ";";
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String title() {
        return "Foreign-key orphans: rows whose referenced row does not exist (every foreign key in the catalog)";
    }

    @Override
    public CheckResult run(VerifyContext context) throws SQLException {
        DatabaseSession db = context.database();
        List<ForeignKey> keys = list(db);
        List<Finding> results = db.parallel(keys, (c, fk) -> check(c, fk, db), (fk, e) -> unchecked(fk, e, db),
                n -> context.progress().update("foreign-keys: " + n + "/" + keys.size()));
        List<Finding> findings = results.stream().filter(Objects::nonNull).toList();
        long orphaned = findings.stream().filter(f -> f.count() != null && f.count() > 0).count();
        long unknown = findings.stream().filter(f -> f.status() == Status.UNKNOWN).count();
        String summary = CheckResult.summary(keys.size(), "foreign key", "foreign keys", orphaned, "with orphan rows", unknown,
                "no orphan rows");
        List<String> next = new ArrayList<>();
        if (orphaned > 0) {
            next.add("list the orphans with each fix query; then delete them, restore their parent rows from a backup, or set the "
                    + "columns to NULL where the schema allows it");
            next.add("orphans appear when triggers were off (session_replication_role = replica, ALTER TABLE ... DISABLE TRIGGER ALL, "
                    + "a data-only restore with --disable-triggers) or through damage: run the btree and heap checks too");
        }
        return CheckResult.of(this, keys.size(), findings, summary, next);
    }

    private List<ForeignKey> list(DatabaseSession db) throws SQLException {
        Connection c = db.catalog();
        List<ForeignKey> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(KEYS)) {
            db.scope().bind(c, ps, 1);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new ForeignKey(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                            rs.getString(6), rs.getString(7), rs.getBoolean(8), rs.getString(9), strings(rs.getArray(10)),
                            strings(rs.getArray(11)), strings(rs.getArray(12)), strings(rs.getArray(13))));
                }
            }
        }
        return out;
    }

    private static List<String> strings(Array a) throws SQLException {
        return a == null ? List.of() : List.of((String[]) a.getArray());
    }

    private static Finding check(Connection c, ForeignKey fk, DatabaseSession db) throws SQLException {
        String where = fk.orphanCondition();
        long count;
        List<String> sample = new ArrayList<>();
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + fk.from() + " WHERE " + where)) {
                rs.next();
                count = rs.getLong(1);
            }
            if (count > 0) {
                String cols = String.join(", ", fk.columns().stream().map(col -> "c." + Identifiers.quote(col) + "::text").toList());
                try (ResultSet rs = st.executeQuery("SELECT DISTINCT " + cols + " FROM " + fk.from() + " WHERE " + where + " LIMIT " + SAMPLE)) {
                    while (rs.next()) {
                        sample.add(key(fk.columns(), rs));
                    }
                }
            }
        } catch (SQLException e) {
            if (SqlErrors.connectionLost(e)) {
                throw e;
            }
            SqlErrors.Judgement j = SqlErrors.judge(e, db);
            return Finding.of(j.status(), "foreign key", fk.display(), j.message(), j.hint());
        }
        if (count == 0) {
            return null;
        }
        String rows = count + " row" + (count == 1 ? "" : "s") + " of " + fk.schema() + "." + fk.table() + " ("
                + String.join(", ", fk.columns()) + ") point" + (count == 1 ? "s" : "") + " at no row of "
                + fk.refSchema() + "." + fk.refTable() + " (" + String.join(", ", fk.refColumns()) + ")";
        if (!fk.validated()) {
            return Finding.counted(Status.WARNING, "foreign key", fk.display(),
                    rows + "; the constraint is NOT VALID, so rows from before it was added were never checked, "
                            + "and VALIDATE CONSTRAINT will fail until they are fixed", count, sample, fk.listQuery());
        }
        return Finding.counted(Status.CRITICAL, "foreign key", fk.display(), rows, count, sample, fk.listQuery());
    }

    private static String key(List<String> columns, ResultSet rs) throws SQLException {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < columns.size(); i++) {
            String v = rs.getString(i + 1);
            parts.add(columns.get(i) + "=" + (v == null ? "NULL" : v));
        }
        return columns.size() == 1 ? parts.get(0) : "(" + String.join(", ", parts) + ")";
    }

    private static Finding unchecked(ForeignKey fk, SQLException e, DatabaseSession db) {
        SqlErrors.Judgement j = SqlErrors.judge(e, db);
        Status s = j.status() == Status.CRITICAL ? Status.UNKNOWN : j.status();
        return Finding.of(s, "foreign key", fk.display(), j.message(), j.hint());
    }
}
