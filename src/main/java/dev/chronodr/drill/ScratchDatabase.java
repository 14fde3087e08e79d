package dev.chronodr.drill;

import java.nio.charset.StandardCharsets;
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

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.repo.Repository;

/**
 * The drill's scratch database, {@code <db>_dr_test_<yyyyMMdd_HHmmss>} cut to 63 bytes.
 * A drill drops only databases it made: before the restore creates the scratch, the drill
 * writes a record with a random token into the repository (REPO/.drill/), and as soon as
 * the database exists it gets the comment {@code chrono-dr dr-test scratch TOKEN}. A name
 * alone proves nothing: a user's database may look like a scratch name.
 * <p>
 * While a drill runs, its control connection holds a session advisory lock on the name;
 * the lock dies with the drill's connection, so the next drill can tell a live drill's
 * scratch from the leftover of a killed one.
 */
final class ScratchDatabase implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ScratchDatabase.class);
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss");
    private static final String LOCK = "SELECT pg_try_advisory_lock(hashtext('chrono-dr dr-test ' || ?))";
    private static final String UNLOCK = "SELECT pg_advisory_unlock(hashtext('chrono-dr dr-test ' || ?))";
    /** PostgreSQL keeps at most NAMEDATALEN - 1 bytes of a name and silently cuts the rest. */
    static final int MAX_NAME_BYTES = 63;
    static final String MARK = "chrono-dr dr-test scratch ";
    /** Marks a scratch database kept with --keep, which later drills leave alone. */
    static final String KEPT = "chrono-dr dr-test scratch kept with --keep";
    private static final long MARK_POLL_MILLIS = 10;

    /** What a sweep of leftovers did: dropped (ours, proven by the token) and left alone (with the reason). */
    record Sweep(List<String> dropped, List<String> leftAlone) {
    }

    private final Connection control;
    private final ScratchRecord record;
    private final Repository repo;
    private final boolean keep;
    private final Thread marker;
    private volatile boolean stopMarking;
    private boolean closed;

    private ScratchDatabase(Connection control, ScratchRecord record, Repository repo, boolean keep) {
        this.control = control;
        this.record = record;
        this.repo = repo;
        this.keep = keep;
        this.marker = new Thread(this::markWhenCreated, "dr-test-mark");
        this.marker.setDaemon(true);
    }

    /** The scratch name: the database's name cut (whole characters) so that the whole name fits in 63 bytes. */
    static String nameFor(String database, OffsetDateTime at) {
        String suffix = "_dr_test_" + at.withOffsetSameInstant(ZoneOffset.UTC).format(STAMP);
        return clip(database, MAX_NAME_BYTES - suffix.getBytes(StandardCharsets.UTF_8).length) + suffix;
    }

    /** The longest prefix of whole code points within maxBytes bytes of UTF-8 (no server encoding needs more). */
    static String clip(String s, int maxBytes) {
        int bytes = 0;
        int i = 0;
        while (i < s.length()) {
            int cp = s.codePointAt(i);
            int n = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (bytes + n > maxBytes) {
                break;
            }
            bytes += n;
            i += Character.charCount(cp);
        }
        return s.substring(0, i);
    }

    static String markOf(String token) {
        return MARK + token;
    }

    static String server(ConnectionSettings s) {
        return s.host() + ":" + s.port();
    }

    /**
     * Claims the name (advisory lock), checks that no database has it and that the server
     * keeps it whole, records it in the repository, and starts marking it the moment the
     * restore creates it.
     */
    static ScratchDatabase claim(ConnectionSettings maintenance, Repository repo, String name, String database, boolean keep,
                                 OffsetDateTime at) throws SQLException {
        Connection c = Database.connect(maintenance);
        try {
            if (!tryLock(c, name)) {
                throw new SQLException("another drill holds " + name);
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT (?::name)::text")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (!name.equals(rs.getString(1))) {
                        throw new SQLException("the server would cut the name " + name + " to " + rs.getString(1));
                    }
                }
            }
            if (commentOf(c, name) != null) {
                throw new SQLException("a database named " + name + " already exists; the drill never touches a database it did not create");
            }
            ScratchRecord record = ScratchRecord.create(name, database, server(maintenance), at);
            record.write(repo);
            ScratchDatabase scratch = new ScratchDatabase(c, record, repo, keep);
            scratch.marker.start();
            return scratch;
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    String name() {
        return record.scratch();
    }

    boolean keep() {
        return keep;
    }

    /** The marker thread: polls until the restore has created the database, then comments it with the token. */
    private void markWhenCreated() {
        try {
            while (!stopMarking) {
                synchronized (this) {
                    if (stopMarking) {
                        return;
                    }
                    if (commentOf(control, name()) != null) {
                        mark();
                        return;
                    }
                }
                Thread.sleep(MARK_POLL_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (SQLException e) {
            log.warn("could not mark scratch database {} yet: {}", name(), e.getMessage());
        }
    }

    private void mark() throws SQLException {
        try (Statement st = control.createStatement()) {
            st.execute("COMMENT ON DATABASE " + Identifiers.quote(name()) + " IS '" + markOf(record.token()) + "'");
        }
    }

    /**
     * After a successful restore: the database is the drill's own (the restore refuses an
     * existing name), so it carries the mark from here on, whatever the archive set.
     */
    synchronized void restored() throws SQLException {
        stopMarker();
        if (!markOf(record.token()).equals(commentOf(control, name()))) {
            mark();
        }
    }

    private void stopMarker() {
        stopMarking = true;
        if (Thread.currentThread() != marker) {
            marker.interrupt();
        }
    }

    /** Drops leftovers of earlier drills recorded in this repository for this server, when they carry their drill's mark. */
    static Sweep sweep(ConnectionSettings maintenance, Repository repo, int serverVersionNum) throws SQLException {
        List<String> dropped = new ArrayList<>();
        List<String> leftAlone = new ArrayList<>();
        String server = server(maintenance);
        List<ScratchRecord> records = ScratchRecord.all(repo).stream().filter(r -> server.equals(r.server())).toList();
        if (records.isEmpty()) {
            return new Sweep(dropped, leftAlone);
        }
        try (Connection c = Database.connect(maintenance)) {
            for (ScratchRecord r : records) {
                if (!tryLock(c, r.scratch())) {
                    continue; // a running drill's
                }
                try {
                    String comment = commentOf(c, r.scratch());
                    if (comment == null) {
                        r.delete(repo); // the drill cleaned up after all, or never got as far as creating it
                    } else if (comment.equals(markOf(r.token()))) {
                        drop(c, r.scratch(), serverVersionNum);
                        dropped.add(r.scratch());
                        r.delete(repo);
                    } else {
                        leftAlone.add(r.scratch() + ": a drill meant to create it, but it does not carry that drill's mark, so it is"
                                + " left alone (if it is an unfinished scratch copy, drop it yourself)");
                        r.delete(repo);
                    }
                } finally {
                    unlock(c, r.scratch());
                }
            }
        }
        return new Sweep(dropped, leftAlone);
    }

    /** The database's comment: null when no such database exists, "" when it has none. */
    private static String commentOf(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static boolean tryLock(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(LOCK)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private static void unlock(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(UNLOCK)) {
            ps.setString(1, name);
            ps.execute();
        }
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

    /**
     * Drops the scratch database (unless kept) when it carries this drill's mark, and
     * releases the claim. Runs from the drill and from the shutdown hook; the second call
     * does nothing.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopMarker();
        String name = name();
        try {
            String comment = commentOf(control, name);
            boolean ours = comment != null && comment.equals(markOf(record.token()));
            if (comment == null) {
                record.delete(repo);
            } else if (!ours) {
                // Created by the restore but not marked yet (or not ours at all): never drop what carries no proof.
                log.warn("scratch database {} does not carry this drill's mark; left alone (the next dr-test reports it)", name);
            } else if (keep) {
                try (Statement st = control.createStatement()) {
                    st.execute("COMMENT ON DATABASE " + Identifiers.quote(name) + " IS '" + KEPT + "'");
                }
                record.delete(repo);
            } else {
                int version;
                try (Statement st = control.createStatement(); ResultSet rs = st.executeQuery("SHOW server_version_num")) {
                    rs.next();
                    version = Integer.parseInt(rs.getString(1));
                }
                drop(control, name, version);
                record.delete(repo);
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
