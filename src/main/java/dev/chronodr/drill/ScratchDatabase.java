package dev.chronodr.drill;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.Identifiers;

/**
 * The drill's scratch database, {@code <db>_dr_test_<yyyyMMdd_HHmmss>}. While a drill
 * runs, its control connection holds a session advisory lock on the name; the lock dies
 * with the drill's connection, so the next drill can tell a live drill's scratch from
 * the leftover of a killed one and drops only the latter.
 */
final class ScratchDatabase implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ScratchDatabase.class);
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss");
    private static final String LOCK = "SELECT pg_try_advisory_lock(hashtext('chrono-dr dr-test ' || ?))";

    /** Marks a scratch database kept with --keep, which later drills leave alone. */
    private static final String KEPT = "chrono-dr dr-test scratch kept with --keep";

    private final Connection control;
    private final String name;
    private final boolean keep;

    private ScratchDatabase(Connection control, String name, boolean keep) {
        this.control = control;
        this.name = name;
        this.keep = keep;
    }

    static String nameFor(String database, OffsetDateTime at) {
        String base = database + "_dr_test_" + at.withOffsetSameInstant(ZoneOffset.UTC).format(STAMP);
        // PostgreSQL truncates names to 63 bytes; keep the stamp, shorten the database part.
        if (base.length() > 63) {
            base = database.substring(0, 63 - (base.length() - database.length())) + base.substring(database.length());
        }
        return base;
    }

    private static Pattern leftoverPattern(String database) {
        return Pattern.compile(Pattern.quote(database.length() > 39 ? database.substring(0, 39) : database) + "_dr_test_\\d{8}_\\d{6}");
    }

    /** Claims the name (advisory lock) on the maintenance connection; the restore then creates the database. */
    static ScratchDatabase claim(ConnectionSettings maintenance, String name, boolean keep) throws SQLException {
        Connection c = Database.connect(maintenance);
        try (PreparedStatement ps = c.prepareStatement(LOCK)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    c.close();
                    throw new SQLException("another drill holds " + name);
                }
            }
        }
        return new ScratchDatabase(c, name, keep);
    }

    String name() {
        return name;
    }

    /** Drops scratch databases of earlier drills that are no longer running. */
    static List<String> removeLeftovers(ConnectionSettings maintenance, String database, int serverVersionNum) throws SQLException {
        List<String> dropped = new ArrayList<>();
        Pattern p = leftoverPattern(database);
        try (Connection c = Database.connect(maintenance)) {
            List<String> candidates = new ArrayList<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database")) {
                while (rs.next()) {
                    if (p.matcher(rs.getString(1)).matches() && !rs.getString(2).equals(KEPT)) {
                        candidates.add(rs.getString(1));
                    }
                }
            }
            for (String name : candidates) {
                try (PreparedStatement ps = c.prepareStatement(LOCK)) {
                    ps.setString(1, name);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (!rs.getBoolean(1)) {
                            continue; // a running drill's
                        }
                    }
                }
                drop(c, name, serverVersionNum);
                dropped.add(name);
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock(hashtext('chrono-dr dr-test ' || ?))")) {
                    ps.setString(1, name);
                    ps.execute();
                }
            }
        }
        return dropped;
    }

    static void drop(Connection c, String name, int serverVersionNum) throws SQLException {
        try (Statement st = c.createStatement()) {
            if (serverVersionNum >= 130000) {
                st.execute("DROP DATABASE IF EXISTS " + Identifiers.quote(name) + " WITH (FORCE)");
            } else {
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()")) {
                    ps.setString(1, name);
                    ps.execute();
                }
                st.execute("DROP DATABASE IF EXISTS " + Identifiers.quote(name));
            }
        }
    }

    boolean keep() {
        return keep;
    }

    /** Drops the scratch database (unless kept) and releases the claim. */
    @Override
    public void close() {
        try {
            if (keep) {
                try (Statement st = control.createStatement()) {
                    st.execute("COMMENT ON DATABASE " + Identifiers.quote(name) + " IS '" + KEPT + "'");
                }
            } else {
                int version;
                try (Statement st = control.createStatement(); ResultSet rs = st.executeQuery("SHOW server_version_num")) {
                    rs.next();
                    version = Integer.parseInt(rs.getString(1));
                }
                drop(control, name, version);
            }
        } catch (SQLException e) {
            log.error("could not drop scratch database {}: {}; the next dr-test removes it", name, e.getMessage());
        } finally {
            try {
                control.close();
            } catch (SQLException ignored) {
                // closing releases the advisory lock
            }
        }
    }
}
