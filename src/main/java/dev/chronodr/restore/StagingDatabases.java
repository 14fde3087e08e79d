package dev.chronodr.restore;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.pg.Identifiers;

/**
 * The staging databases a replace restores into ({@code <db>_restore_<ts>}). Each is marked
 * when created with a comment holding a fixed marker, the host and process id of the
 * chrono-dr that made it and a random token; a restore killed mid-way (kill -9, a lost
 * terminal) leaves it behind, and the next restore of the same database finds it by its name
 * AND its marker, and drops it once the process that made it is gone. A database whose name
 * merely matches, without the marker, is a user's and is never touched. The swap replaces the
 * marker with the live database's comment in the same transaction as the renames.
 */
final class StagingDatabases {
    private static final Logger log = LoggerFactory.getLogger(StagingDatabases.class);
    static final String MARKER = "chrono-dr staging database of an unfinished restore; dropped by the next restore";
    private static final Pattern TOKEN = Pattern.compile("\\[host=([^ \\]]+) pid=(\\d+) token=([0-9a-f-]+)]$");
    private static final Pattern NAME = Pattern.compile("^.*(_restore_\\d{8}_\\d{6})$");

    private StagingDatabases() {
    }

    /** The comment a staging database carries while chrono-dr fills it. */
    static String marker() {
        return MARKER + " [host=" + UnpackDir.host() + " pid=" + ProcessHandle.current().pid() + " token=" + UUID.randomUUID() + "]";
    }

    static void mark(Connection admin, String db) throws SQLException {
        try (Statement st = admin.createStatement()) {
            st.execute("COMMENT ON DATABASE " + Identifiers.quote(db) + " IS " + RestoreService.literal(marker()));
        }
    }

    /**
     * Finds the marked staging databases of {@code live} left by restores that are gone, drops
     * them, and returns one note per database found (dropped, or left with the reason).
     */
    static List<String> cleanLeftovers(Connection admin, String live) throws SQLException {
        List<String> notes = new ArrayList<>();
        List<String[]> candidates = new ArrayList<>();
        try (PreparedStatement ps = admin.prepareStatement(
                "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname LIKE '%\\_restore\\_%' ORDER BY 1");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                candidates.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        for (String[] c : candidates) {
            String name = c[0];
            String comment = c[1];
            Matcher n = NAME.matcher(name);
            // Exactly the name a restore of live would give it (shortened to fit 63 bytes), and our marker.
            if (!n.matches() || !name.equals(RestoreService.derivedName(live, n.group(1)))) {
                continue;
            }
            if (comment == null || !comment.startsWith(MARKER)) {
                // A user's database, or (killed in the instant between CREATE DATABASE and its COMMENT) an empty staging one.
                if (comment == null || !comment.contains("left by chrono-dr for inspection")) {
                    notes.add("database " + name + " is named like a staging database but carries no chrono-dr marker; left alone");
                }
                continue;
            }
            Matcher t = TOKEN.matcher(comment);
            if (!t.find()) {
                continue;
            }
            String host = t.group(1);
            long pid = Long.parseLong(t.group(2));
            if (!host.equals(UnpackDir.host())) {
                notes.add("staging database " + name + " was left by a restore on host " + host + " (pid " + pid
                        + "); left alone: drop it once that run is gone: DROP DATABASE " + Identifiers.quote(name) + ";");
                continue;
            }
            if (pid == ProcessHandle.current().pid() || ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                notes.add("staging database " + name + " belongs to a restore still running (pid " + pid + "); left alone");
                continue;
            }
            try {
                Databases.drop(admin, name);
            } catch (SQLException e) {
                // Not worth failing this restore over; it says so, and the next one tries again.
                notes.add("could not drop " + name + ", the staging database of an interrupted restore: " + e.getMessage());
                continue;
            }
            log.warn("dropped {}: the staging database of an interrupted restore (pid {})", name, pid);
            notes.add("dropped " + name + ": the staging database of an interrupted restore (pid " + pid + " on " + host + ")");
        }
        return notes;
    }
}
