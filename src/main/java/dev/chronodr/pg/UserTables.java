package dev.chronodr.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The tables pg_dump dumps and the drills prove: ordinary tables (and partitions) in user
 * schemas, not members of an extension. One query, so that a backup's table selection and
 * the point-in-time drill's capture never disagree on what "every table" is.
 */
public final class UserTables {
    private static final String QUERY = """
            SELECT n.nspname, c.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r'
              AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d
                              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
            ORDER BY 1, 2
            """;

    private UserTables() {
    }

    /** A table's schema and name, as the catalog spells them (no quoting). */
    public record Name(String schema, String name) {
    }

    /** The user tables of the connection's database, by schema then name. */
    public static List<Name> list(Connection c) throws SQLException {
        List<Name> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(QUERY); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Name(rs.getString(1), rs.getString(2)));
            }
        }
        return out;
    }
}
