package dev.chronodr.monitor;

import java.util.List;
import java.util.Map;

/** One row of a check's query, by column label. Numbers come back as whatever JDBC chose. */
public record Row(Map<String, Object> values) {

    public Object get(String column) {
        if (!values.containsKey(column)) {
            throw new IllegalArgumentException("no column " + column + " in " + values.keySet());
        }
        return values.get(column);
    }

    public String str(String column) {
        Object v = get(column);
        return v == null ? null : v.toString();
    }

    public boolean isNull(String column) {
        return get(column) == null;
    }

    /** The number, or {@code otherwise} when the column is null. */
    public double num(String column, double otherwise) {
        Object v = get(column);
        return v == null ? otherwise : ((Number) v).doubleValue();
    }

    public long lng(String column) {
        Object v = get(column);
        return v == null ? 0 : ((Number) v).longValue();
    }

    public boolean bool(String column) {
        return Boolean.TRUE.equals(get(column));
    }

    /** An int[] column such as pg_blocking_pids(), as a list; empty when null. */
    public List<Integer> ints(String column) {
        Object v = get(column);
        if (v == null) {
            return List.of();
        }
        @SuppressWarnings("unchecked")
        List<Integer> list = (List<Integer>) v;
        return list;
    }
}
