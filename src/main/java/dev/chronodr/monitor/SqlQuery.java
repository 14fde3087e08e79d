package dev.chronodr.monitor;

import java.util.List;

/**
 * A query a check needs. Queries with the same name are run once per pass and their rows
 * shared, so several checks can read one scan of pg_stat_activity. Parameters are bound,
 * never pasted into the text.
 */
public record SqlQuery(String name, String sql, List<Object> params) {
    public SqlQuery {
        params = List.copyOf(params);
    }

    public static SqlQuery of(String name, String sql, Object... params) {
        return new SqlQuery(name, sql, List.of(params));
    }
}
