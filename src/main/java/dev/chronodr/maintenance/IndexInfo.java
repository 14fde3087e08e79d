package dev.chronodr.maintenance;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.pg.Identifiers;

/**
 * One index of a user table, as the catalog shows it.
 *
 * @param exclusion  backs an exclusion constraint: PostgreSQL cannot rebuild it concurrently
 * @param building   a CREATE INDEX / REINDEX is running on its table right now
 * @param leftoverOf for an invalid {@code <name>_ccnew} / {@code _ccold} index left by a failed
 *                   REINDEX CONCURRENTLY: the index it was a copy of; null otherwise
 */
public record IndexInfo(long oid, String schema, String name, boolean valid, boolean exclusion, boolean building,
                        String leftoverOf) {

    public String qualified() {
        return schema + "." + name;
    }

    @JsonIgnore
    public String sql() {
        return Identifiers.qualified(schema, name);
    }

    public boolean leftover() {
        return leftoverOf != null;
    }
}
