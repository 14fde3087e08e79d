package dev.chronodr.advise;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.pg.StatementStats;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.Unit;

/**
 * The runbook's performance section, made safe to act on: it reads the catalog and the
 * statistics views of one database, read-only, and returns findings with the statement
 * that would fix each. It changes nothing; every statement is for a person to review.
 *
 * <p>What it guards against: the runbook's "unused index" query also lists indexes that
 * enforce a constraint, that a foreign key needs, or that only a standby uses. Here an
 * index is called unused only when it enforces nothing, no foreign key depends on it, and
 * the statistics are old enough to mean something; what cannot be known from this server
 * is said.
 */
public final class AdviseService {
    /** Usage statistics younger than this say little about monthly jobs. */
    static final double SHORT_STATISTICS_SECONDS = 7 * 86400;

    public AdviseResult advise(Target target, AdviseRequest req) {
        ConnectionSettings settings = target.connection();
        try (Connection c = Database.connect(settings)) {
            c.setAutoCommit(true);
            c.setReadOnly(true);
            try (Statement st = c.createStatement()) {
                st.execute("SET statement_timeout = '60s'");
            }
            ServerInfo info = ServerInfo.probe(c);
            List<String> notes = new ArrayList<>();
            Double statsAge = statisticsAge(c);
            int standbys = info.inRecovery() ? 0 : standbys(c);
            List<IndexDef> indexes = indexes(c);
            List<ForeignKey> fks = foreignKeys(c);
            List<Advice> advice = new ArrayList<>();
            Set<Long> neededByForeignKeys = new HashSet<>();
            advice.addAll(foreignKeysWithoutIndex(fks, indexes, req, neededByForeignKeys));
            Set<Long> dropped = new HashSet<>();
            advice.addAll(duplicates(indexes, dropped));
            advice.addAll(overlapping(indexes, dropped));
            advice.addAll(unused(indexes, req, dropped, neededByForeignKeys, statsAge, standbys, info.inRecovery()));
            advice.addAll(sequentialScans(c, req));
            advice.addAll(bloat(c, req));
            advice.addAll(statements(c, req, notes));
            if (statsAge != null && statsAge < SHORT_STATISTICS_SECONDS) {
                notes.add("the usage statistics cover only " + Unit.seconds(statsAge)
                        + ": an index a weekly or monthly job uses may look unused");
            }
            if (info.inRecovery()) {
                notes.add("this server is a standby: its index usage is its own; the primary's may differ");
            }
            return new AdviseResult(info.database(), settings.describe(), statsAge, standbys, advice, notes);
        } catch (SQLException e) {
            throw ChronoException.failed("cannot read the statistics of " + settings.dbname() + ": " + e.getMessage(),
                    "advise needs a role that may read pg_catalog and the pg_stat views (pg_monitor)");
        }
    }

    /** One index, as the catalog has it. */
    record IndexDef(long oid, long table, String schema, String tableName, String name, String am, int[] keys, String opclasses,
                    String collations, String options, String predicate, String expressions, boolean unique, boolean primary,
                    boolean constraint, boolean valid, long scans, long bytes, String definition) {
        String qualified() {
            return Identifiers.qualified(schema, name);
        }

        String tableQualified() {
            return Identifiers.qualified(schema, tableName);
        }

        /** Same columns, operator classes, collations, options, predicate and expressions, same access method. */
        boolean sameAs(IndexDef o) {
            return table == o.table && am.equals(o.am) && Arrays.equals(keys, o.keys) && opclasses.equals(o.opclasses)
                    && collations.equals(o.collations) && options.equals(o.options) && eq(predicate, o.predicate)
                    && eq(expressions, o.expressions);
        }

        /** A plain btree whose columns are a strict leading part of {@code o}'s, with the same classes on them. */
        boolean prefixOf(IndexDef o) {
            if (table != o.table || !"btree".equals(am) || !"btree".equals(o.am) || predicate != null || o.predicate != null
                    || expressions != null || o.expressions != null || keys.length >= o.keys.length) {
                return false;
            }
            for (int i = 0; i < keys.length; i++) {
                if (keys[i] != o.keys[i]) {
                    return false;
                }
            }
            return leading(opclasses, keys.length).equals(leading(o.opclasses, keys.length))
                    && leading(collations, keys.length).equals(leading(o.collations, keys.length))
                    && leading(options, keys.length).equals(leading(o.options, keys.length));
        }

        /** It enforces something: dropping it changes what the database accepts. */
        boolean enforces() {
            return unique || primary || constraint;
        }
    }

    record ForeignKey(String name, long table, String schema, String tableName, int[] columns, List<String> columnNames,
                      double rows, long tableBytes) {
    }

    private static List<IndexDef> indexes(Connection c) throws SQLException {
        String sql = """
                SELECT x.indexrelid::bigint AS oid, x.indrelid::bigint AS tbl, n.nspname, t.relname AS tablename, i.relname,
                       am.amname, x.indkey::text AS keys, x.indclass::text AS opclasses, x.indcollation::text AS collations,
                       x.indoption::text AS options, pg_get_expr(x.indpred, x.indrelid) AS predicate,
                       pg_get_expr(x.indexprs, x.indrelid) AS expressions, x.indisunique, x.indisprimary,
                       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x')) AS constraint_backed,
                       x.indisvalid, coalesce(s.idx_scan, 0) AS scans, pg_relation_size(i.oid) AS bytes,
                       pg_get_indexdef(x.indexrelid) AS definition
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class t ON t.oid = x.indrelid
                JOIN pg_namespace n ON n.oid = t.relnamespace
                JOIN pg_am am ON am.oid = i.relam
                LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = x.indexrelid
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
                  AND t.relkind IN ('r', 'm', 'p')
                ORDER BY n.nspname, t.relname, i.relname
                """;
        List<IndexDef> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(new IndexDef(rs.getLong("oid"), rs.getLong("tbl"), rs.getString("nspname"), rs.getString("tablename"),
                        rs.getString("relname"), rs.getString("amname"), ints(rs.getString("keys")), rs.getString("opclasses"),
                        rs.getString("collations"), rs.getString("options"), rs.getString("predicate"), rs.getString("expressions"),
                        rs.getBoolean("indisunique"), rs.getBoolean("indisprimary"), rs.getBoolean("constraint_backed"),
                        rs.getBoolean("indisvalid"), rs.getLong("scans"), rs.getLong("bytes"), rs.getString("definition")));
            }
        }
        return out;
    }

    private static List<ForeignKey> foreignKeys(Connection c) throws SQLException {
        String sql = """
                SELECT k.conname, k.conrelid::bigint AS tbl, n.nspname, t.relname, k.conkey::int[] AS cols,
                       ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
                             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord) AS names,
                       greatest(t.reltuples, 0)::float8 AS rows, pg_relation_size(t.oid) AS bytes
                FROM pg_constraint k
                JOIN pg_class t ON t.oid = k.conrelid
                JOIN pg_namespace n ON n.oid = t.relnamespace
                WHERE k.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                ORDER BY n.nspname, t.relname, k.conname
                """;
        List<ForeignKey> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                Integer[] cols = (Integer[]) rs.getArray("cols").getArray();
                String[] names = (String[]) rs.getArray("names").getArray();
                out.add(new ForeignKey(rs.getString("conname"), rs.getLong("tbl"), rs.getString("nspname"), rs.getString("relname"),
                        Arrays.stream(cols).mapToInt(Integer::intValue).toArray(), List.of(names), rs.getDouble("rows"),
                        rs.getLong("bytes")));
            }
        }
        return out;
    }

    /**
     * A foreign key whose columns do not lead any valid, unconditional index: every DELETE or
     * key UPDATE on the referenced table scans the referencing one. Indexes that do lead with
     * its columns are remembered, so they are never called unused.
     */
    static List<Advice> foreignKeysWithoutIndex(List<ForeignKey> fks, List<IndexDef> indexes, AdviseRequest req, Set<Long> needed) {
        List<Advice> out = new ArrayList<>();
        for (ForeignKey fk : fks) {
            List<IndexDef> covering = indexes.stream().filter(i -> i.table() == fk.table() && i.valid() && i.predicate() == null
                    && leadsWith(i.keys(), fk.columns())).toList();
            if (!covering.isEmpty()) {
                if (covering.size() == 1) {
                    needed.add(covering.get(0).oid());
                }
                continue;
            }
            if (fk.rows() < req.foreignKeyMinRows()) {
                continue;
            }
            String cols = String.join(", ", fk.columnNames().stream().map(Identifiers::quote).toList());
            out.add(new Advice(Advice.Kind.FOREIGN_KEY_WITHOUT_INDEX,
                    Identifiers.qualified(fk.schema(), fk.tableName()) + " (" + cols + ")",
                    "foreign key " + Identifiers.quote(fk.name()) + " has no index leading with its columns: each DELETE or key"
                            + " UPDATE on the referenced table reads all ~" + Math.round(fk.rows()) + " rows here",
                    fk.tableBytes(),
                    "CREATE INDEX CONCURRENTLY ON " + Identifiers.qualified(fk.schema(), fk.tableName()) + " (" + cols + ");",
                    null));
        }
        return out;
    }

    /** Identical indexes: keep the one that enforces something (else the oldest), drop the others. */
    static List<Advice> duplicates(List<IndexDef> indexes, Set<Long> dropped) {
        List<Advice> out = new ArrayList<>();
        Set<Long> seen = new HashSet<>();
        for (IndexDef a : indexes) {
            if (seen.contains(a.oid()) || !a.valid()) {
                continue;
            }
            List<IndexDef> group = new ArrayList<>();
            for (IndexDef b : indexes) {
                if (b.valid() && a.sameAs(b)) {
                    group.add(b);
                }
            }
            group.forEach(g -> seen.add(g.oid()));
            if (group.size() < 2) {
                continue;
            }
            group.sort(Comparator.comparing((IndexDef g) -> !g.primary()).thenComparing(g -> !g.constraint())
                    .thenComparing(g -> !g.unique()).thenComparingLong(IndexDef::oid));
            IndexDef keep = group.get(0);
            for (IndexDef d : group.subList(1, group.size())) {
                if (d.enforces() && !keep.enforces()) {
                    continue;
                }
                if (d.constraint() || d.primary()) {
                    out.add(new Advice(Advice.Kind.DUPLICATE_INDEX, d.qualified(), "the same index as " + keep.qualified()
                            + ", but it backs a constraint", d.bytes(), null,
                            "drop the constraint's duplicate by hand if you are sure: ALTER TABLE ... DROP CONSTRAINT rebuilds nothing"));
                    continue;
                }
                dropped.add(d.oid());
                out.add(new Advice(Advice.Kind.DUPLICATE_INDEX, d.qualified(), "the same index as " + keep.qualified()
                        + " (" + keep.definition() + ")", d.bytes(), "DROP INDEX CONCURRENTLY " + d.qualified() + ";", null));
            }
        }
        return out;
    }

    /** A btree whose columns lead a wider btree with the same classes: the wider one serves its queries. */
    static List<Advice> overlapping(List<IndexDef> indexes, Set<Long> dropped) {
        List<Advice> out = new ArrayList<>();
        for (IndexDef a : indexes) {
            if (!a.valid() || a.enforces() || dropped.contains(a.oid())) {
                continue;
            }
            for (IndexDef b : indexes) {
                if (b.valid() && !dropped.contains(b.oid()) && a.prefixOf(b)) {
                    dropped.add(a.oid());
                    out.add(new Advice(Advice.Kind.OVERLAPPING_INDEX, a.qualified(), "its columns lead " + b.qualified() + " ("
                            + b.definition() + "), which serves the same lookups", a.bytes(),
                            "DROP INDEX CONCURRENTLY " + a.qualified() + ";",
                            "the wider index is larger to read; keep this one if a hot query needs the small one"));
                    break;
                }
            }
        }
        return out;
    }

    static List<Advice> unused(List<IndexDef> indexes, AdviseRequest req, Set<Long> dropped, Set<Long> neededByForeignKeys,
                               Double statsAge, int standbys, boolean inRecovery) {
        List<Advice> out = new ArrayList<>();
        for (IndexDef i : indexes) {
            if (i.scans() > 0 || !i.valid() || i.enforces() || dropped.contains(i.oid()) || neededByForeignKeys.contains(i.oid())
                    || i.bytes() < req.minBytes()) {
                continue;
            }
            String since = statsAge == null ? "since the statistics began" : "in " + Unit.seconds(statsAge) + " of statistics";
            String note = standbys > 0 ? "idx_scan counts this server only: " + standbys + (standbys == 1 ? " standby" : " standbys")
                    + " may use it (look at pg_stat_user_indexes there first)"
                    : inRecovery ? "counted on this standby only: the primary may use it" : null;
            out.add(new Advice(Advice.Kind.UNUSED_INDEX, i.qualified(), "never scanned " + since + ", on " + i.tableQualified()
                    + ", enforces nothing and no foreign key needs it", i.bytes(), "DROP INDEX CONCURRENTLY " + i.qualified() + ";",
                    note));
        }
        return out;
    }

    private static List<Advice> sequentialScans(Connection c, AdviseRequest req) throws SQLException {
        String sql = """
                SELECT schemaname, relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0) AS idx_scan, n_live_tup,
                       pg_relation_size(relid) AS bytes
                FROM pg_stat_user_tables
                WHERE n_live_tup >= ? AND seq_scan > coalesce(idx_scan, 0)
                  AND seq_tup_read >= seq_scan * n_live_tup / 2
                ORDER BY seq_tup_read DESC
                LIMIT 20
                """;
        List<Advice> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, req.seqScanMinRows());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String table = Identifiers.qualified(rs.getString("schemaname"), rs.getString("relname"));
                    out.add(new Advice(Advice.Kind.SEQUENTIAL_SCANS, table, rs.getLong("seq_scan") + " sequential scans read "
                            + rs.getLong("seq_tup_read") + " rows (" + rs.getLong("idx_scan") + " index scans) of ~"
                            + rs.getLong("n_live_tup") + " live rows", rs.getLong("bytes"), null,
                            "find the statements that read it (pg_stat_statements, or log_min_duration_statement) and index"
                                    + " what they filter on; an index guessed from here may never be used"));
                }
            }
        }
        return out;
    }

    /**
     * Table bloat, estimated from the planner's statistics (rows, average column widths,
     * fillfactor; tuple header and row padded to 8 bytes, 4 for the line pointer) against the pages the table holds: the usual estimate, no extension
     * needed, good to tens of percent. Tables without statistics for every column are left out.
     */
    private static List<Advice> bloat(Connection c, AdviseRequest req) throws SQLException {
        String sql = """
                WITH t AS (
                  SELECT c.oid, n.nspname, c.relname, c.relpages::bigint AS pages, greatest(c.reltuples, 0)::float8 AS tuples,
                         coalesce((SELECT substring(o FROM 'fillfactor=(\\d+)')::int FROM unnest(c.reloptions) o
                                   WHERE o LIKE 'fillfactor=%'), 100) AS fillfactor,
                         current_setting('block_size')::int AS bs
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                    AND n.nspname !~ '^pg_toast' AND c.relpages::bigint * current_setting('block_size')::int >= ?
                ), w AS (
                  SELECT t.oid, sum(s.avg_width)::float8 AS width, count(s.attname) AS with_stats,
                         (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
                  FROM t LEFT JOIN pg_stats s ON s.schemaname = t.nspname AND s.tablename = t.relname AND NOT s.inherited
                  GROUP BY t.oid
                )
                SELECT t.nspname, t.relname, t.pages, t.bs, t.tuples, t.fillfactor, w.width,
                       ceil(t.tuples * (ceil((23 + w.width) / 8.0) * 8 + 4) / ((t.bs - 24) * t.fillfactor / 100.0))::bigint AS expected_pages
                FROM t JOIN w ON w.oid = t.oid
                WHERE w.with_stats = w.columns AND w.columns > 0
                """;
        List<Advice> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, req.minBytes());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long pages = rs.getLong("pages");
                    long expected = Math.max(1, rs.getLong("expected_pages"));
                    long bs = rs.getLong("bs");
                    double pct = pages == 0 ? 0 : 100.0 * (pages - expected) / pages;
                    if (pct < req.bloatMinPercent()) {
                        continue;
                    }
                    String table = Identifiers.qualified(rs.getString("nspname"), rs.getString("relname"));
                    long wasted = (pages - expected) * bs;
                    out.add(new Advice(Advice.Kind.BLOAT, table, "about " + Math.round(pct) + "% of its " + TextOutput.bytes(pages * bs)
                            + " is free space (" + TextOutput.bytes(wasted) + "; estimated from ~" + Math.round(rs.getDouble("tuples"))
                            + " rows of ~" + Math.round(rs.getDouble("width")) + " bytes)", wasted,
                            "-- VACUUM FULL takes an ACCESS EXCLUSIVE lock for the whole rewrite; in a maintenance window:\n"
                                    + "-- chrono-dr vacuum --full --tables " + table + "   (or pg_repack, which locks briefly)",
                            "plain VACUUM makes the space reusable but returns it to the system only at the table's end"));
                }
            }
        }
        return out;
    }

    /** The statements that took the most time in this database, from pg_stat_statements when it is installed here. */
    private static List<Advice> statements(Connection c, AdviseRequest req, List<String> notes) throws SQLException {
        String version = null;
        String schema = null;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                WHERE e.extname = 'pg_stat_statements'""")) {
            if (rs.next()) {
                version = rs.getString(1);
                schema = rs.getString(2);
            }
        }
        if (version == null) {
            notes.add("pg_stat_statements is not installed in this database: no statement advice"
                    + " (CREATE EXTENSION pg_stat_statements, with it in shared_preload_libraries)");
            return List.of();
        }
        String total = StatementStats.totalColumn(version);
        String mean = StatementStats.meanColumn(version);
        String sql = "SELECT s.calls, s." + total + "::float8 AS total_ms, s." + mean + "::float8 AS mean_ms, s.rows,"
                + " left(s.query, 400) AS query FROM " + Identifiers.qualified(schema, "pg_stat_statements") + " s"
                + " WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                + " ORDER BY s." + total + " DESC LIMIT ?";
        List<Advice> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setInt(1, req.statements());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String query = rs.getString("query").replaceAll("\\s+", " ").strip();
                    out.add(new Advice(Advice.Kind.SLOW_STATEMENT, query, rs.getLong("calls") + " calls, "
                            + String.format(java.util.Locale.ROOT, "%.1f ms total, %.2f ms mean, %d rows", rs.getDouble("total_ms"),
                            rs.getDouble("mean_ms"), rs.getLong("rows")) + " (" + total + ")", null,
                            "-- with real parameter values, on a copy or with care (ANALYZE runs it):\n-- EXPLAIN (ANALYZE, BUFFERS) "
                                    + query, null));
                }
            }
        } catch (SQLException e) {
            if (!"55000".equals(e.getSQLState())) {
                throw e;
            }
            // "must be loaded via shared_preload_libraries": installed but not loaded
            notes.add("pg_stat_statements is installed but not loaded (shared_preload_libraries): no statement advice");
        }
        return out;
    }

    private static Double statisticsAge(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT extract(epoch FROM now() - stats_reset)::float8 FROM pg_stat_database WHERE datname = current_database()")) {
            if (rs.next()) {
                double v = rs.getDouble(1);
                return rs.wasNull() ? null : v;
            }
        }
        return null;
    }

    private static int standbys(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_replication")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    static boolean leadsWith(int[] indexKeys, int[] columns) {
        if (indexKeys.length < columns.length) {
            return false;
        }
        Set<Integer> lead = new HashSet<>();
        for (int i = 0; i < columns.length; i++) {
            lead.add(indexKeys[i]);
        }
        for (int col : columns) {
            if (!lead.contains(col)) {
                return false;
            }
        }
        return true;
    }

    private static int[] ints(String vector) {
        String s = vector == null ? "" : vector.strip();
        return s.isEmpty() ? new int[0] : Arrays.stream(s.split("\\s+")).mapToInt(Integer::parseInt).toArray();
    }

    private static String leading(String vector, int n) {
        String[] p = vector.strip().split("\\s+");
        return String.join(" ", Arrays.asList(p).subList(0, Math.min(n, p.length)));
    }

    private static boolean eq(String a, String b) {
        return a == null ? b == null : a.equals(b);
    }
}
