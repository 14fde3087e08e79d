package dev.chronodr.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.Status;
import dev.chronodr.pg.Identifiers;

/**
 * Indexes marked invalid in {@code pg_index}: left behind by a failed or cancelled
 * CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY. Queries do not use them, yet writes
 * still maintain them, and a unique one does not stand for the constraint it looks like.
 * Indexes being built right now (pg_stat_progress_create_index) are not reported.
 */
public final class InvalidIndexCheck implements VerifyCheck {
    static final String NAME = "invalid-indexes";

    private static final String QUERY = ResolvedScope.CTE + """
            , in_scope AS (
                SELECT oid FROM scope
                UNION
                SELECT c.reltoastrelid FROM pg_catalog.pg_class c JOIN scope s ON s.oid = c.oid WHERE c.reltoastrelid <> 0
            )
            SELECT n.nspname, ic.relname, tn.nspname, t.relname, pg_catalog.pg_get_indexdef(i.indexrelid),
                   i.indisunique, t.relkind::text, ic.relkind::text,
                   EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid) AS building
            FROM pg_catalog.pg_index i
            JOIN in_scope s ON s.oid = i.indrelid
            JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
            JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
            JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
            WHERE NOT i.indisvalid
            ORDER BY 1, 2
            """;

    private static final String COUNT = ResolvedScope.CTE + """
            SELECT count(*) FROM pg_catalog.pg_index i JOIN scope s ON s.oid = i.indrelid
            """;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String title() {
        return "Invalid indexes (pg_index.indisvalid = false), as a failed CREATE INDEX CONCURRENTLY leaves them";
    }

    @Override
    public CheckResult run(VerifyContext context) throws SQLException {
        DatabaseSession db = context.database();
        Connection c = db.catalog();
        List<Finding> findings = new ArrayList<>();
        int building = 0;
        try (PreparedStatement ps = c.prepareStatement(QUERY)) {
            db.scope().bind(c, ps, 1);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (rs.getBoolean(9)) {
                        building++;
                        continue;
                    }
                    findings.add(finding(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                            rs.getBoolean(6), rs.getString(7), rs.getString(8)));
                }
            }
        }
        int total;
        try (PreparedStatement ps = c.prepareStatement(COUNT)) {
            db.scope().bind(c, ps, 1);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                total = rs.getInt(1);
            }
        }
        String summary = findings.isEmpty() ? "no invalid index among " + total
                : findings.size() + " invalid index" + (findings.size() == 1 ? "" : "es") + " among " + total;
        if (building > 0) {
            summary += " (" + building + " being built right now, not counted)";
        }
        List<String> next = new ArrayList<>();
        if (!findings.isEmpty()) {
            next.add("rebuild or drop each one with its fix; REINDEX ... CONCURRENTLY and DROP INDEX CONCURRENTLY do not block writes");
        }
        return CheckResult.of(this, total, findings, summary, next);
    }

    private static Finding finding(String schema, String index, String tableSchema, String table, String def,
                                   boolean unique, String tableKind, String indexKind) {
        String q = Identifiers.qualified(schema, index);
        String fix;
        String why;
        if (indexKind.equals("I")) {
            why = "partitioned index that is not attached on every partition (created ON ONLY, or a partition's index is missing)";
            fix = "create the missing index on each partition, then ALTER INDEX " + q + " ATTACH PARTITION <that index>;";
        } else if (index.matches(".*_ccnew\\d*")) {
            why = "left by a failed REINDEX CONCURRENTLY (the new copy); the original index is still in place";
            fix = "DROP INDEX CONCURRENTLY " + q + ";";
        } else if (index.matches(".*_ccold\\d*")) {
            why = "left by a failed REINDEX CONCURRENTLY (the old copy); its replacement is already in place";
            fix = "DROP INDEX CONCURRENTLY " + q + ";";
        } else if (tableKind.equals("t")) {
            // TOAST indexes cannot be rebuilt concurrently.
            why = "invalid TOAST index: reads of large values may miss data";
            fix = "REINDEX INDEX " + q + ";  -- blocks writes to " + tableSchema + "." + table + " while it runs";
        } else {
            why = "queries do not use it, writes still maintain it"
                    + (unique ? "; as a unique index it was never proven unique: if the build failed on duplicate keys, "
                    + "remove the duplicates first" : "");
            fix = "REINDEX INDEX CONCURRENTLY " + q + ";  -- or: DROP INDEX CONCURRENTLY " + q + "; then "
                    + def.replaceFirst("^CREATE (UNIQUE )?INDEX ", "CREATE $1INDEX CONCURRENTLY ") + ";";
        }
        return Finding.of(Status.WARNING, "index", schema + "." + index + " on " + tableSchema + "." + table, why, fix);
    }
}
