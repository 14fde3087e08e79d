package dev.chronodr.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Savepoint;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A table's content as one value: row count plus the sum of a 64-bit hash of every row.
 * Order-independent, so it needs one scan and no sort; taken at backup time and again
 * after a restore, equal digests mean the same rows. This guards against accidents, not
 * adversaries. Forms, by prefix:
 * <ul>
 * <li>{@code r64:} hash_record_extended over the row's values (PostgreSQL 14+): each
 * column through its type's own hash function, about four times cheaper than turning
 * rows into text. Used when every column's type has one, no column has a
 * nondeterministic collation (whose hash would hide differences the collation ignores),
 * and no column is or contains a type whose hash is of an OID a restore renumbers:
 * enums (hashed by their label's OID) and the reg* types (dumped as names).
 * <li>{@code h64:} hashtextextended over the row's text, for the rest; text output
 * depends on a few session settings, so they are pinned first.
 * <li>a plain number: the first, md5-based form, still computed for old manifests.
 * </ul>
 * Backups now take {@code c256:} digests of every table from the archive as it streams
 * (see {@link CopyDigest}); these forms remain for old manifests and for databases whose
 * encoding is not UTF8.
 */
public final class TableDigest {
    private TableDigest() {
    }

    public record Digest(long rows, String value) {
    }

    private static final String RECORD = "r64:";
    private static final String TEXT = "h64:";
    // Every type a column is or contains (domains, arrays, composites, ranges, multiranges: PostgreSQL 14+ only).
    private static final String NOT_BY_VALUE = """
            WITH RECURSIVE t(oid) AS (
                SELECT a.atttypid FROM pg_catalog.pg_attribute a WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped
              UNION
                SELECT n.oid FROM t JOIN pg_catalog.pg_type ty ON ty.oid = t.oid
                CROSS JOIN LATERAL (
                    SELECT ty.typbasetype UNION ALL SELECT ty.typelem
                    UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute a
                               WHERE a.attrelid = ty.typrelid AND a.attnum > 0 AND NOT a.attisdropped
                    UNION ALL SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = ty.oid
                    UNION ALL SELECT r.rngtypid FROM pg_catalog.pg_range r WHERE r.rngmultitypid = ty.oid
                ) n(oid) WHERE n.oid <> 0
            )
            SELECT EXISTS (SELECT 1 FROM t JOIN pg_catalog.pg_type ty ON ty.oid = t.oid
                            WHERE ty.typtype = 'e' OR ty.typnamespace = 'pg_catalog'::regnamespace AND ty.typname LIKE 'reg%')
                OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
                            WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped AND NOT co.collisdeterministic)
            """;

    private static final String PIN_SETTINGS =
            "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres';"
                    + " SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'";

    /** Pins the output settings for the current transaction (call inside one). */
    public static void pinSettings(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(PIN_SETTINGS);
        }
    }

    /**
     * Count and digest in one scan, in the cheapest form the table allows. The connection
     * must be in a transaction where {@link #pinSettings} ran.
     */
    public static Digest of(Connection c, String schema, String table) throws SQLException {
        if (c.getMetaData().getDatabaseMajorVersion() < 14 || notHashableByValue(c, schema, table)) {
            return of(c, schema, table, TEXT);
        }
        Savepoint sp = c.setSavepoint();
        try {
            Digest d = of(c, schema, table, RECORD);
            c.releaseSavepoint(sp);
            return d;
        } catch (SQLException e) {
            if (!"42883".equals(e.getSQLState())) {
                throw e;
            }
            c.rollback(sp); // a column type without an extended hash function (json, point, xml...)
            return of(c, schema, table, TEXT);
        }
    }

    /** The same digest as one recorded earlier ({@code like}), whichever form that one has. */
    public static Digest like(Connection c, String schema, String table, String like) throws SQLException {
        if (like != null && like.startsWith(CopyDigest.PREFIX)) {
            return CopyDigest.compute(c, schema, table);
        }
        String form = like == null ? "" : like.startsWith(RECORD) ? RECORD : like.startsWith(TEXT) ? TEXT : "";
        return of(c, schema, table, form);
    }

    private static boolean notHashableByValue(Connection c, String schema, String table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(NOT_BY_VALUE)) {
            ps.setString(1, Identifiers.qualified(schema, table));
            ps.setString(2, Identifiers.qualified(schema, table));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private static Digest of(Connection c, String schema, String table, String form) throws SQLException {
        String hash = switch (form) {
            case RECORD -> "hash_record_extended(t, 0)";
            case TEXT -> "hashtextextended(t::text, 0)";
            default -> "('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint";
        };
        String sql = "SELECT count(*), coalesce(sum(" + hash + "), 0)::text FROM " + Identifiers.qualified(schema, table) + " t";
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return new Digest(rs.getLong(1), form + rs.getString(2));
        }
    }
}
