package dev.chronodr.pg;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A table's content as one value: row count plus the sum of a 60-bit hash of every row's
 * text. Order-independent, so it needs one scan and no sort; taken at backup time and
 * again after a restore, equal digests mean the same rows. Row text depends on a few
 * session settings, so they are pinned first.
 */
public final class TableDigest {
    private TableDigest() {
    }

    public record Digest(long rows, String value) {
    }

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
        String sql = "SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text FROM "
                + Identifiers.qualified(schema, table) + " t";
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return new Digest(rs.getLong(1), rs.getString(2));
        }
    }
}
