package dev.chronodr.restore;

/**
 * Told when a table's data is in, committed, while the restore goes on with other tables,
 * indexes and constraints (none of which changes a table's rows). Only a parallel restore of
 * a custom archive says so, from pg_restore's "finished item N TABLE DATA" lines; a table it
 * does not announce is simply not announced. Called on the thread reading pg_restore's log:
 * it must return at once.
 */
@FunctionalInterface
public interface TableLoaded {
    TableLoaded NONE = (schema, table) -> { };

    void loaded(String schema, String table);

    /** The restore failed: its database is dropped next, so whoever reads it stops now (and does not connect again). */
    default void failed() {
    }
}
