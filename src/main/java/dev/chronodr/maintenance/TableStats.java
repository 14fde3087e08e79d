package dev.chronodr.maintenance;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.pg.Identifiers;

/**
 * A user table as the planner sees it: the statistics collector's tuple counts, the
 * transaction-ID age (table and its TOAST table), sizes and indexes.
 *
 * @param tablespace   null for the database's default tablespace
 * @param sizeEstimated sizes come from pg_class.relpages (another session held an
 *                      ACCESS EXCLUSIVE lock, and measuring would have queued behind it)
 */
public record TableStats(long oid, String schema, String name, String tablespace, long liveTuples, long deadTuples,
                         long xidAge, long tableBytes, long indexBytes, boolean sizeEstimated,
                         long vacuumCount, long analyzeCount, List<IndexInfo> indexes) {

    public TableStats {
        indexes = List.copyOf(indexes);
    }

    public String qualified() {
        return schema + "." + name;
    }

    @JsonIgnore
    public String sql() {
        return Identifiers.qualified(schema, name);
    }

    /** Dead tuples as a share of all tuples, 0 for an empty table. */
    public double deadPercent() {
        long all = liveTuples + deadTuples;
        return all == 0 ? 0 : 100.0 * deadTuples / all;
    }

    /** Table with TOAST plus indexes: what VACUUM FULL writes anew. */
    public long totalBytes() {
        return tableBytes + indexBytes;
    }

    TableStats withIndexes(List<IndexInfo> list) {
        return new TableStats(oid, schema, name, tablespace, liveTuples, deadTuples, xidAge, tableBytes, indexBytes,
                sizeEstimated, vacuumCount, analyzeCount, list);
    }
}
