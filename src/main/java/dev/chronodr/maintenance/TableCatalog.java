package dev.chronodr.maintenance;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what vacuum decides from: user tables with their statistics, sizes and indexes.
 * Every query here is lock-free on user tables except the exact sizes, which are only
 * measured for tables nobody holds (or waits for) an ACCESS EXCLUSIVE lock on: measuring
 * opens the table, and that would queue behind the lock.
 */
final class TableCatalog {
    private TableCatalog() {
    }

    /** A partitioned table named on the command line stands for its leaf partitions. */
    record Partitioned(String schema, String name, List<Long> leafOids) {
    }

    record Snapshot(List<TableStats> tables, List<Partitioned> partitioned) {
    }

    /** Counters read again after the work, to show what it changed. */
    record After(long liveTuples, long deadTuples, long xidAge, long vacuumCount, long analyzeCount) {
    }

    private static final String TABLES = """
            SELECT c.oid, n.nspname, c.relname, ts.spcname,
                   coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0),
                   greatest(age(c.relfrozenxid), coalesce(age(t.relfrozenxid), 0)),
                   %s AS table_bytes,
                   %s AS index_bytes,
                   lk.locked,
                   coalesce(s.vacuum_count, 0), coalesce(s.analyze_count, 0)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
            LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
            LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            CROSS JOIN LATERAL (
                SELECT EXISTS (SELECT 1 FROM pg_locks l
                               WHERE l.locktype = 'relation' AND l.relation = c.oid
                                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                                 AND l.mode = 'AccessExclusiveLock' AND l.pid <> pg_backend_pid()) AS locked
            ) lk
            WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
            ORDER BY n.nspname, c.relname
            """;

    /** relpages are a lock-free estimate, as of the last VACUUM or ANALYZE. */
    private static final String ESTIMATED_TABLE_BYTES =
            "(c.relpages::bigint + coalesce(t.relpages, 0)) * current_setting('block_size')::bigint";
    private static final String ESTIMATED_INDEX_BYTES = """
            (SELECT coalesce(sum(ic.relpages), 0)::bigint FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = c.oid) * current_setting('block_size')::bigint""";

    private static final String INDEXES = """
            SELECT i.indrelid, i.indexrelid, n.nspname, ic.relname, i.indisvalid,
                   EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid AND co.contype = 'x'),
                   EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.relid = i.indrelid)
            FROM pg_index i
            JOIN pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_namespace n ON n.oid = ic.relnamespace
            JOIN pg_class c ON c.oid = i.indrelid
            WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
            ORDER BY ic.relname
            """;

    private static final String PARTITIONED = """
            SELECT n.nspname, c.relname,
                   ARRAY(SELECT p.relid::oid::bigint FROM pg_partition_tree(c.oid) p WHERE p.isleaf)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'p'
            """;

    private static final String AFTER = """
            SELECT coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0),
                   greatest(age(c.relfrozenxid), coalesce(age(t.relfrozenxid), 0)),
                   coalesce(s.vacuum_count, 0), coalesce(s.analyze_count, 0)
            FROM pg_class c
            LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
            LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.oid = ?
            """;

    /** Leftovers of a failed REINDEX CONCURRENTLY: the new copy (_ccnew) or the swapped-out old one (_ccold). */
    private static final Pattern LEFTOVER = Pattern.compile("(.+)_cc(?:new|old)\\d*");

    static Snapshot read(Connection c) throws SQLException {
        List<TableStats> tables;
        try {
            tables = tables(c, true);
        } catch (SQLException e) {
            // A lock taken between our pg_locks look and the size call: measure nothing, estimate all.
            if (!"55P03".equals(e.getSQLState())) {
                throw e;
            }
            tables = tables(c, false);
        }
        Map<Long, List<IndexInfo>> indexes = indexes(c);
        List<TableStats> withIndexes = new ArrayList<>(tables.size());
        for (TableStats t : tables) {
            withIndexes.add(t.withIndexes(indexes.getOrDefault(t.oid(), List.of())));
        }
        return new Snapshot(withIndexes, partitioned(c));
    }

    private static List<TableStats> tables(Connection c, boolean measure) throws SQLException {
        String tableBytes = measure
                ? "CASE WHEN lk.locked THEN " + ESTIMATED_TABLE_BYTES + " ELSE pg_table_size(c.oid) END"
                : ESTIMATED_TABLE_BYTES;
        String indexBytes = measure
                ? "CASE WHEN lk.locked THEN " + ESTIMATED_INDEX_BYTES + " ELSE pg_indexes_size(c.oid) END"
                : ESTIMATED_INDEX_BYTES;
        List<TableStats> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(TABLES.formatted(tableBytes, indexBytes))) {
            while (rs.next()) {
                boolean estimated = !measure || rs.getBoolean(10);
                out.add(new TableStats(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getLong(5),
                        rs.getLong(6), rs.getLong(7), rs.getLong(8), rs.getLong(9), estimated, rs.getLong(11),
                        rs.getLong(12), List.of()));
            }
        }
        return out;
    }

    private static Map<Long, List<IndexInfo>> indexes(Connection c) throws SQLException {
        record Row(long table, long oid, String schema, String name, boolean valid, boolean exclusion, boolean building) {
        }
        List<Row> rows = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(INDEXES)) {
            while (rs.next()) {
                rows.add(new Row(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getBoolean(5),
                        rs.getBoolean(6), rs.getBoolean(7)));
            }
        }
        Map<Long, List<String>> namesByTable = new HashMap<>();
        for (Row r : rows) {
            namesByTable.computeIfAbsent(r.table(), k -> new ArrayList<>()).add(r.name());
        }
        Map<Long, List<IndexInfo>> out = new LinkedHashMap<>();
        for (Row r : rows) {
            String leftoverOf = r.valid() ? null : leftoverOf(r.name(), namesByTable.get(r.table()));
            out.computeIfAbsent(r.table(), k -> new ArrayList<>())
                    .add(new IndexInfo(r.oid(), r.schema(), r.name(), r.valid(), r.exclusion(), r.building(), leftoverOf));
        }
        return out;
    }

    /**
     * The original index's name when this invalid index is a REINDEX CONCURRENTLY leftover.
     * Only when an index of the original name still exists on the same table: a user's own
     * index that happens to end in _ccnew is not taken for one.
     */
    static String leftoverOf(String name, List<String> siblings) {
        Matcher m = LEFTOVER.matcher(name);
        if (!m.matches()) {
            return null;
        }
        String base = m.group(1);
        return siblings != null && siblings.contains(base) ? base : null;
    }

    private static List<Partitioned> partitioned(Connection c) throws SQLException {
        List<Partitioned> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(PARTITIONED)) {
            while (rs.next()) {
                Object[] leaves = (Object[]) rs.getArray(3).getArray();
                List<Long> oids = new ArrayList<>();
                for (Object o : leaves) {
                    oids.add(((Number) o).longValue());
                }
                out.add(new Partitioned(rs.getString(1), rs.getString(2), oids));
            }
        }
        return out;
    }

    static After after(Connection c, long oid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(AFTER)) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return new After(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5));
            }
        }
    }
}
