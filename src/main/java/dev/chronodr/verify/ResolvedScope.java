package dev.chronodr.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Identifiers;

/**
 * A {@link Scope} checked against the catalog: schemas that exist and table OIDs (with the
 * partitions of a partitioned table). Queries that honour the scope start with
 * {@link #CTE} and call {@link #bind} for its two parameters.
 */
public record ResolvedScope(List<String> schemas, List<Long> tableOids, String description) {

    /**
     * {@code scope(oid)}: the tables, partitioned tables and materialized views in scope.
     * TOAST tables are reached through their owners' {@code reltoastrelid}.
     */
    static final String CTE = """
            WITH params AS (SELECT ?::text[] AS schemas, ?::bigint[] AS tables),
            scope AS (
                SELECT c.oid
                FROM pg_catalog.pg_class c
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                CROSS JOIN params p
                WHERE c.relkind IN ('r', 'p', 'm')
                  AND c.relpersistence <> 't'
                  AND n.nspname <> 'pg_toast'
                  AND n.nspname !~ '^pg_(toast_)?temp_'
                  AND (p.schemas IS NULL OR n.nspname = ANY (p.schemas))
                  AND (p.tables IS NULL OR c.oid::bigint = ANY (p.tables))
            )
            """;

    private static final String BY_NAME = """
            SELECT c.oid::bigint, n.nspname, c.relname, c.relkind
            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid = pg_catalog.to_regclass(?)
            """;

    private static final String PARTITIONS = """
            SELECT relid::oid::bigint FROM pg_catalog.pg_partition_tree(?::bigint::oid::regclass)
            """;

    public static ResolvedScope resolve(Connection c, Scope scope) throws SQLException {
        if (scope.everything()) {
            return new ResolvedScope(null, null, "all schemas");
        }
        List<String> schemas = null;
        if (!scope.schemas().isEmpty()) {
            schemas = List.copyOf(new LinkedHashSet<>(scope.schemas()));
            Set<String> found = new LinkedHashSet<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY (?)")) {
                ps.setArray(1, c.createArrayOf("text", schemas.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        found.add(rs.getString(1));
                    }
                }
            }
            List<String> missing = schemas.stream().filter(s -> !found.contains(s)).toList();
            if (!missing.isEmpty()) {
                throw ChronoException.usage("no schema " + String.join(", ", missing) + " in this database",
                        "--schema takes schema names exactly as the catalog spells them (case matters)");
            }
        }
        List<Long> oids = null;
        List<String> names = new ArrayList<>();
        if (!scope.tables().isEmpty()) {
            Set<Long> set = new LinkedHashSet<>();
            for (String table : scope.tables()) {
                Table t = lookup(c, table, schemas);
                names.add(t.schema() + "." + t.name());
                set.add(t.oid());
                if (t.kind().equals("p")) {
                    try (PreparedStatement ps = c.prepareStatement(PARTITIONS)) {
                        ps.setLong(1, t.oid());
                        try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                                set.add(rs.getLong(1));
                            }
                        }
                    }
                }
            }
            oids = List.copyOf(set);
        }
        String description = (oids != null ? "tables " + String.join(", ", names) : "")
                + (oids != null && schemas != null ? " in " : "")
                + (schemas != null ? "schema" + (schemas.size() > 1 ? "s " : " ") + String.join(", ", schemas) : "");
        return new ResolvedScope(schemas, oids, description);
    }

    private record Table(long oid, String schema, String name, String kind) {
    }

    /** A table name as SQL spells it; unqualified names look in the --schema schemas when given. */
    private static Table lookup(Connection c, String table, List<String> schemas) throws SQLException {
        List<String> candidates = new ArrayList<>();
        if (schemas != null && !isQualified(table)) {
            schemas.forEach(s -> candidates.add(Identifiers.quote(s) + "." + table));
        } else {
            candidates.add(table);
        }
        for (String candidate : candidates) {
            try (PreparedStatement ps = c.prepareStatement(BY_NAME)) {
                ps.setString(1, candidate);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        Table t = new Table(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4));
                        if (!List.of("r", "p", "m").contains(t.kind())) {
                            throw ChronoException.usage(table + " is not a table", "--tables takes tables, partitioned tables and materialized views");
                        }
                        if (schemas != null && !schemas.contains(t.schema())) {
                            throw ChronoException.usage("table " + t.schema() + "." + t.name() + " is not in --schema " + String.join(", ", schemas),
                                    "leave out --schema, or name a table in those schemas");
                        }
                        return t;
                    }
                }
            } catch (SQLException e) {
                if ("42602".equals(e.getSQLState()) || "3F000".equals(e.getSQLState()) || "42704".equals(e.getSQLState())) {
                    throw ChronoException.usage("'" + table + "' is not a valid table name: " + SqlErrors.serverMessage(e),
                            "write table, schema.table, or \"Quoted\".\"Name\"");
                }
                throw e;
            }
        }
        throw ChronoException.usage("no table " + table + (schemas != null ? " in schema " + String.join(", ", schemas) : " on the search path"),
                "check the name; qualify it as schema.table if it is not in the search path");
    }

    /** True when a dot separates a schema from the name outside double quotes. */
    static boolean isQualified(String name) {
        boolean quoted = false;
        for (char ch : name.toCharArray()) {
            if (ch == '"') {
                quoted = !quoted;
            } else if (ch == '.' && !quoted) {
                return true;
            }
        }
        return false;
    }

    /** Binds the scope's two parameters at {@code index} and {@code index + 1}; returns the next index. */
    int bind(Connection c, PreparedStatement ps, int index) throws SQLException {
        if (schemas == null) {
            ps.setNull(index, Types.ARRAY);
        } else {
            ps.setArray(index, c.createArrayOf("text", schemas.toArray()));
        }
        if (tableOids == null) {
            ps.setNull(index + 1, Types.ARRAY);
        } else {
            ps.setArray(index + 1, c.createArrayOf("int8", tableOids.toArray()));
        }
        return index + 2;
    }
}
