package dev.chronodr.maintenance;

/**
 * An index that needs attention: invalid (a failed CREATE INDEX CONCURRENTLY, ignored by
 * queries but still slowing writes), a leftover of a failed REINDEX CONCURRENTLY, or one
 * that cannot be rebuilt concurrently. {@code action} says what this run does about it.
 */
public record IndexNote(String index, String table, String problem, String action) {
}
