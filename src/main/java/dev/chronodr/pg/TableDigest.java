package dev.chronodr.pg;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A table's content as one value: row count plus the sum of a hash of every row's text.
 * Order-independent, so it needs one scan and no sort; taken at backup time and again
 * after a restore, equal digests mean the same rows. Row text depends on a few session
 * settings, so they are pinned first. The hash is PostgreSQL's own 64-bit
 * hashtextextended (several times cheaper than md5; this guards against accidents, not
 * adversaries); digests recorded as plain numbers come from the earlier md5 form and are
 * computed again the same way.
 */
public final class TableDigest {
    private TableDigest() {
    }

    public record Digest(long rows, String value) {
    }

    private static final String CURRENT = "h64:";

    private static final String PIN_SETTINGS =
            "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres';"
                    + " SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'";

    /** Pins the output settings for the current transaction (call inside one). */
    public static void pinSettings(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(PIN_SETTINGS);
        }
    }

    /** Count and digest in one scan. The connection must be in a transaction where {@link #pinSettings} ran. */
    public static Digest of(Connection c, String schema, String table) throws SQLException {
        return of(c, schema, table, CURRENT);
    }

    /** The same digest as one recorded earlier ({@code like}), whichever form that one has. */
    public static Digest like(Connection c, String schema, String table, String like) throws SQLException {
        return of(c, schema, table, like != null && like.startsWith(CURRENT) ? CURRENT : "");
    }

    private static Digest of(Connection c, String schema, String table, String form) throws SQLException {
        String hash = form.equals(CURRENT) ? "hashtextextended(t::text, 0)" : "('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint";
        String sql = "SELECT count(*), coalesce(sum(" + hash + "::numeric), 0)::text FROM " + Identifiers.qualified(schema, table) + " t";
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return new Digest(rs.getLong(1), form + rs.getString(2));
        }
    }
}
