package dev.chronodr.monitor;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the checks' queries in one round trip: the statements go as one multi-statement
 * prepared statement (the driver sends them together and reads the results in order).
 * One failing statement would abort its neighbours, so after a failure each query is
 * retried on its own and only the broken one is reported as failed.
 */
final class QueryBatch {
    private static final Logger log = LoggerFactory.getLogger(QueryBatch.class);

    record Outcome(Map<String, List<Row>> rows, Map<String, String> errors) {
    }

    private QueryBatch() {
    }

    static Outcome run(Connection c, List<SqlQuery> queries) {
        Map<String, List<Row>> rows = new LinkedHashMap<>();
        Map<String, String> errors = new LinkedHashMap<>();
        if (queries.isEmpty()) {
            return new Outcome(rows, errors);
        }
        try {
            together(c, queries, rows);
            return new Outcome(rows, errors);
        } catch (SQLException e) {
            log.debug("monitor queries failed together ({}); running them one by one", e.getMessage());
            rows.clear();
        }
        for (SqlQuery q : queries) {
            try {
                together(c, List.of(q), rows);
            } catch (SQLException e) {
                errors.put(q.name(), firstLine(e.getMessage()));
            }
        }
        return new Outcome(rows, errors);
    }

    private static void together(Connection c, List<SqlQuery> queries, Map<String, List<Row>> into) throws SQLException {
        String sql = queries.stream().map(q -> q.sql().strip()).collect(Collectors.joining(";\n"));
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            int i = 1;
            for (SqlQuery q : queries) {
                for (Object p : q.params()) {
                    ps.setObject(i++, p);
                }
            }
            boolean isResultSet = ps.execute();
            for (SqlQuery q : queries) {
                if (!isResultSet) {
                    throw new SQLException("query " + q.name() + " returned no rows");
                }
                try (ResultSet rs = ps.getResultSet()) {
                    into.put(q.name(), read(rs));
                }
                isResultSet = ps.getMoreResults();
            }
        }
    }

    private static List<Row> read(ResultSet rs) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        int n = md.getColumnCount();
        List<Row> rows = new ArrayList<>();
        while (rs.next()) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (int i = 1; i <= n; i++) {
                Object v = rs.getObject(i);
                if (v instanceof Array a) {
                    v = Arrays.asList((Object[]) a.getArray());
                }
                m.put(md.getColumnLabel(i), v);
            }
            rows.add(new Row(m));
        }
        return rows;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unknown error";
        }
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).strip();
    }
}
