package dev.chronodr.pg;

import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

import org.postgresql.PGConnection;

/**
 * A table's content as pg_dump writes it: {@code c256:} and the SHA-256 of the table's COPY
 * text, the same bytes a backup's archive holds. The backup takes it from the archive as it
 * streams (dump.CustomArchiveReader); a drill takes it again from the restored copy with
 * {@code COPY ... TO STDOUT}, hashed as it streams. Equal values mean the same rows in the
 * same order: pg_restore loads each table with one COPY, so a restored heap reads back in
 * the archive's order.
 * <p>
 * The text depends on the session: pg_dump pins DateStyle, IntervalStyle,
 * extra_float_digits and an empty search_path itself; the backup pins TimeZone and
 * bytea_output for it ({@link #DUMP_OPTIONS}); this side pins all of them. The bytes are
 * the client encoding's, and pgjdbc's is always UTF8: only a UTF8 database gets these.
 */
public final class CopyDigest {
    public static final String PREFIX = "c256:";

    /** What the backup pins in pg_dump's session (libpq options), beside what pg_dump pins itself. */
    public static final Map<String, String> DUMP_PINS = orderedMap("TimeZone", "UTC", "bytea_output", "hex");
    /** Everything the COPY text depends on, as pinned for pg_dump's session and for the comparison. */
    public static final Map<String, String> SESSION = orderedMap("TimeZone", "UTC", "bytea_output", "hex", "DateStyle", "ISO",
            "IntervalStyle", "postgres", "extra_float_digits", "3", "search_path", "");
    /** The libpq {@code options} value that pins {@link #DUMP_PINS}. */
    public static final String DUMP_OPTIONS = "-c TimeZone=UTC -c bytea_output=hex";

    private static final String COLUMNS = """
            SELECT a.attname FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped %s
            ORDER BY a.attnum
            """;

    private CopyDigest() {
    }

    private static Map<String, String> orderedMap(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** A libpq connection string naming {@code dbname} and pinning {@link #DUMP_PINS}: pg_dump's {@code -d}. */
    public static String dumpConninfo(String dbname) {
        return "dbname=" + conninfoQuote(dbname) + " options=" + conninfoQuote(DUMP_OPTIONS);
    }

    static String conninfoQuote(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** The value for a SHA-256 computed elsewhere (hex). */
    public static String of(String sha256Hex) {
        return PREFIX + sha256Hex;
    }

    /**
     * Rows and {@code c256:} digest of a table's COPY text, read in this connection's
     * transaction (settings pinned with SET LOCAL; call inside a transaction).
     */
    public static TableDigest.Digest compute(Connection c, String schema, String table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.set_config(?, ?, true)")) {
            for (Map.Entry<String, String> e : SESSION.entrySet()) {
                ps.setString(1, e.getKey());
                ps.setString(2, e.getValue());
                ps.execute();
            }
            // pg_dump turns it off too: a synchronized scan starts mid-table, and the order is part of the digest
            ps.setString(1, "synchronize_seqscans");
            ps.setString(2, "off");
            ps.execute();
        }
        String qualified = Identifiers.qualified(schema, table);
        String columns = columnList(c, qualified);
        String sql = "COPY " + qualified + (columns.isEmpty() ? "" : " (" + columns + ")") + " TO STDOUT";
        Hashing out = new Hashing();
        try {
            c.unwrap(PGConnection.class).getCopyAPI().copyOut(sql, out);
        } catch (IOException e) {
            throw new SQLException("COPY of " + qualified + " failed: " + e.getMessage(), e);
        }
        return new TableDigest.Digest(out.rows, PREFIX + HexFormat.of().formatHex(out.sha.digest()));
    }

    /** pg_dump's COPY column list: the columns that are not dropped or generated, in attnum order. */
    private static String columnList(Connection c, String qualified) throws SQLException {
        boolean generated = c.getMetaData().getDatabaseMajorVersion() >= 12;
        StringBuilder cols = new StringBuilder();
        try (PreparedStatement ps = c.prepareStatement(COLUMNS.formatted(generated ? "AND a.attgenerated = ''" : ""))) {
            ps.setString(1, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    cols.append(cols.length() == 0 ? "" : ", ").append(Identifiers.quote(rs.getString(1)));
                }
            }
        }
        return cols.toString();
    }

    /** Hashes and counts lines as pgjdbc hands over COPY data; keeps nothing. */
    private static final class Hashing extends OutputStream {
        final MessageDigest sha;
        long rows;

        Hashing() {
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void write(int b) {
            sha.update((byte) b);
            if (b == '\n') {
                rows++;
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            sha.update(b, off, len);
            for (int i = off; i < off + len; i++) {
                if (b[i] == '\n') {
                    rows++;
                }
            }
        }
    }
}
