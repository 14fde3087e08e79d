package dev.chronodr.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.pg.Database;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.pg.ServerInfo;

/**
 * The amcheck extension in the checked database: where it is, which version, and whether
 * this role may run {@code bt_index_check} (1.1+, for {@code heapallindexed}) and
 * {@code verify_heapam} (1.3+, PostgreSQL 14+). When it is missing and the role may create
 * it, it is created: the only change verify makes to a database. When something stands in
 * the way, {@link Use#commands()} holds the exact statements a superuser runs to clear it.
 */
public record Amcheck(String schema, String version, boolean createdNow, Use btree, Use heap) {
    private static final Logger log = LoggerFactory.getLogger(Amcheck.class);

    static final String BTREE_SIGNATURE = "bt_index_check(regclass, boolean)";
    static final String HEAP_SIGNATURE = "verify_heapam(regclass, boolean, boolean, text, bigint, bigint)";

    /** Whether one function can be used; when not, whether that blocks the check (exit 3) or it just does not apply. */
    public record Use(boolean usable, boolean blocked, String reason, List<String> nextSteps, List<String> commands) {
        static Use ok() {
            return new Use(true, false, null, List.of(), List.of());
        }

        /** Blocked; a superuser clears it with {@code commands} in database {@code db}. */
        static Use blocked(String reason, String db, List<String> commands) {
            List<String> steps = commands.isEmpty() ? List.of()
                    : List.of("as a superuser, in database " + db + ", run the statements below; then run verify again");
            return new Use(false, true, reason, steps, commands);
        }

        static Use notApplicable(String reason) {
            return new Use(false, false, reason, List.of(), List.of());
        }

        /** This use as the result of {@code check} when it cannot run. */
        CheckResult result(VerifyCheck check) {
            return blocked ? CheckResult.blocked(check, reason, nextSteps, commands) : CheckResult.skipped(check, reason, nextSteps);
        }
    }

    /** The function call prefix, schema-qualified: {@code "public".bt_index_check}. */
    String function(String name) {
        return Identifiers.quote(schema) + "." + name;
    }

    private static final String INSTALLED = """
            SELECT n.nspname, e.extversion
            FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'amcheck'
            """;

    static Amcheck prepare(DatabaseSession session) throws SQLException {
        Connection c = session.catalog();
        ServerInfo server = session.server();
        String role = server.currentUser();
        String db = server.database();
        boolean heapApplies = server.version().major() >= 14;
        String[] installed = installed(c);
        boolean created = false;
        if (installed == null) {
            Use missing;
            if (availableVersion(c) == null) {
                missing = Use.blocked("the amcheck extension is not available on this server: install PostgreSQL's contrib modules "
                        + "on the database server (Debian/Ubuntu: part of postgresql-" + server.version().major()
                        + "; RHEL: postgresql" + server.version().major() + "-contrib; the official Docker image has them), "
                        + "then run verify again", db, List.of());
            } else {
                Creation attempt = create(session);
                if (attempt.failure() == null) {
                    created = true;
                    missing = null;
                } else {
                    List<String> commands = new ArrayList<>();
                    commands.add("CREATE EXTENSION amcheck SCHEMA " + Identifiers.quote(attempt.schema()) + ";");
                    if (!server.superuser()) {
                        commands.addAll(grants(attempt.schema(), role, heapApplies));
                    }
                    missing = Use.blocked("amcheck is not installed in database " + db + " and role " + role + " cannot create it ("
                            + attempt.failure() + ")", db, commands);
                }
            }
            if (missing != null) {
                return new Amcheck(null, null, false, missing, heapApplies ? missing : tooOld(server));
            }
            installed = installed(c);
            log.info("created extension amcheck in schema {} of database {}", installed[0], db);
        }
        String schema = installed[0];
        String version = installed[1];
        Use btree = compare(version, "1.1") < 0
                ? Use.blocked("amcheck " + version + " is too old for heapallindexed checks", db, List.of("ALTER EXTENSION amcheck UPDATE;"))
                : privileges(c, server, schema, BTREE_SIGNATURE, "bt_index_check");
        Use heap;
        if (!heapApplies) {
            heap = tooOld(server);
        } else if (compare(version, "1.3") < 0) {
            heap = Use.blocked("amcheck " + version + " has no verify_heapam", db, List.of("ALTER EXTENSION amcheck UPDATE;"));
        } else {
            heap = privileges(c, server, schema, HEAP_SIGNATURE, "verify_heapam");
        }
        return new Amcheck(schema, version, created, btree, heap);
    }

    private static Use tooOld(ServerInfo server) {
        return Use.notApplicable("verify_heapam needs PostgreSQL 14 or later (this server is " + server.versionString() + ")");
    }

    private static String[] installed(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(INSTALLED)) {
            return rs.next() ? new String[] {rs.getString(1), rs.getString(2)} : null;
        }
    }

    private static String availableVersion(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT default_version FROM pg_catalog.pg_available_extensions WHERE name = 'amcheck'")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** Where CREATE EXTENSION put (or would put) amcheck, and why it failed (null: it worked). */
    private record Creation(String schema, String failure) {
    }

    /**
     * CREATE EXTENSION on a connection of its own: the checking connections are read-only
     * and pin search_path, and the extension belongs in the role's own first schema.
     */
    private static Creation create(DatabaseSession session) {
        String schema = "public";
        try (Connection w = Database.connect(session.settings()); Statement st = w.createStatement()) {
            st.execute("SET statement_timeout = " + DatabaseSession.MAX_LOCK_WAIT.toMillis());
            st.execute("SET lock_timeout = " + DatabaseSession.MAX_LOCK_WAIT.toMillis());
            try (ResultSet rs = st.executeQuery("SELECT current_schema()")) {
                if (rs.next() && rs.getString(1) != null) {
                    schema = rs.getString(1);
                }
            }
            st.execute("CREATE EXTENSION IF NOT EXISTS amcheck");
            return new Creation(schema, null);
        } catch (SQLException e) {
            if ("25006".equals(e.getSQLState())) {
                return new Creation(schema, "the server is read-only (a standby?): create it on the primary, it replicates");
            }
            return new Creation(schema, SqlErrors.serverMessage(e));
        }
    }

    private static Use privileges(Connection c, ServerInfo server, String schema, String signature, String name) throws SQLException {
        if (server.superuser()) {
            return Use.ok();
        }
        String fn = Identifiers.quote(schema) + "." + signature;
        boolean usage;
        boolean execute;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT has_schema_privilege(?, 'USAGE'), has_function_privilege(?, 'EXECUTE')")) {
            ps.setString(1, schema);
            ps.setString(2, fn);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                usage = rs.getBoolean(1);
                execute = rs.getBoolean(2);
            }
        }
        if (usage && execute) {
            return Use.ok();
        }
        String role = Identifiers.quote(server.currentUser());
        List<String> commands = new ArrayList<>();
        if (!usage) {
            commands.add("GRANT USAGE ON SCHEMA " + Identifiers.quote(schema) + " TO " + role + ";");
        }
        if (!execute) {
            commands.add("GRANT EXECUTE ON FUNCTION " + fn + " TO " + role + ";");
        }
        return Use.blocked("role " + server.currentUser() + " may not run amcheck's " + name, server.database(), commands);
    }

    /** The grants a non-superuser needs once amcheck exists in {@code schema}. */
    private static List<String> grants(String schema, String role, boolean heap) {
        String r = Identifiers.quote(role);
        List<String> out = new ArrayList<>();
        out.add("GRANT USAGE ON SCHEMA " + Identifiers.quote(schema) + " TO " + r + ";");
        out.add("GRANT EXECUTE ON FUNCTION " + Identifiers.quote(schema) + "." + BTREE_SIGNATURE + " TO " + r + ";");
        if (heap) {
            out.add("GRANT EXECUTE ON FUNCTION " + Identifiers.quote(schema) + "." + HEAP_SIGNATURE + " TO " + r + ";");
        }
        return out;
    }

    /** Compares extension versions "1.2" and "1.10" numerically. */
    static int compare(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int p = i < x.length ? parse(x[i]) : 0;
            int q = i < y.length ? parse(y[i]) : 0;
            if (p != q) {
                return Integer.compare(p, q);
            }
        }
        return 0;
    }

    private static int parse(String s) {
        try {
            return Integer.parseInt(s.replaceAll("\\D.*", ""));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
