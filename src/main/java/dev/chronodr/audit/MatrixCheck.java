package dev.chronodr.audit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.Identifiers;

/**
 * The User Management Matrix against the cluster: every difference in roles, attributes,
 * connection limits, memberships and privileges, and the SQL that would remove it.
 * "Missing" privileges are judged by what the role can effectively do (has_*_privilege:
 * PUBLIC, memberships and ownership count); "extra" ones are explicit grants to the role
 * (aclexplode) that the matrix does not list, because that is what someone granted.
 */
final class MatrixCheck implements AuditCheck {
    private static final String TABLE_KINDS = "('r', 'p', 'v', 'm', 'f')";

    private static final String DB_HAS = "SELECT has_database_privilege(?::oid, d.oid, ?) FROM pg_database d WHERE d.datname = ?";
    private static final String DB_EXTRA = """
            SELECT a.privilege_type FROM pg_database d, aclexplode(d.datacl) a
            WHERE d.datname = ? AND a.grantee = ?::oid AND a.grantee <> d.datdba ORDER BY 1
            """;
    private static final String SCHEMA_HAS = "SELECT has_schema_privilege(?::oid, n.oid, ?) FROM pg_namespace n WHERE n.nspname = ?";
    private static final String SCHEMA_EXTRA = """
            SELECT n.nspname, a.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) a
            WHERE a.grantee = ?::oid AND a.grantee <> n.nspowner
              AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
            ORDER BY 1, 2
            """;
    private static final String TABLES_LACKING = """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ? AND c.relkind IN %s AND NOT has_table_privilege(?::oid, c.oid, ?)
            ORDER BY 1
            """.formatted(TABLE_KINDS);
    private static final String SEQUENCES_LACKING = """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ? AND c.relkind = 'S'
              -- CASE keeps the planner from calling has_sequence_privilege on tables ("is not a sequence")
              AND CASE WHEN c.relkind = 'S' THEN NOT has_sequence_privilege(?::oid, c.oid, ?) END
            ORDER BY 1
            """;
    private static final String RELATION_EXTRA = """
            SELECT n.nspname, c.relname, c.relkind = 'S' AS is_sequence, a.privilege_type
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
            WHERE a.grantee = ?::oid AND a.grantee <> c.relowner AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
              AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
            ORDER BY 1, 2, 4
            """;

    @Override
    public String id() {
        return "matrix";
    }

    @Override
    public String title() {
        return "User Management Matrix: roles, attributes, limits, memberships, privileges";
    }

    @Override
    public boolean essential() {
        return false;
    }

    /** The statements that fix the differences: role creation first, so later grants can name new roles. */
    private record Plan(List<String> creates, List<String> changes) {
        Plan() {
            this(new ArrayList<>(), new ArrayList<>());
        }
    }

    @Override
    public void run(AuditContext ctx, CheckLog log) throws SQLException {
        AuditConfig.Matrix matrix = ctx.config().matrix();
        if (matrix == null || matrix.roles().isEmpty()) {
            log.add(Rule.MATRIX_NOT_CONFIGURED, "matrix", "the target has no audit.matrix section",
                    "without a matrix the audit cannot tell which roles, limits and privileges are intended",
                    "declare the roles under audit.matrix.roles in the config (see config/chrono-scraper.yaml)");
            return;
        }
        String db = matrix.database() != null ? matrix.database() : ctx.server().database();
        Plan plan = new Plan();
        Connection mc = null;
        boolean own = false;
        try {
            if (db.equals(ctx.server().database())) {
                mc = ctx.connection();
            } else {
                try {
                    mc = Database.connect(ctx.settings().withDbname(db));
                    own = true;
                    try (java.sql.Statement st = mc.createStatement()) {
                        st.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
                    }
                } catch (ChronoException e) {
                    log.skip("cannot connect to the matrix's database " + db + ": " + e.getMessage()
                            + "; privileges were not compared", true, Rule.MATRIX_PRIVILEGE_MISSING, Rule.MATRIX_PRIVILEGE_EXTRA,
                            Rule.MATRIX_SCHEMA_MISSING);
                }
            }
            Set<String> schemas = mc == null ? Set.of() : existingSchemas(mc, matrix, log);
            for (Map.Entry<String, AuditConfig.RoleSpec> e : matrix.roles().entrySet()) {
                compareRole(ctx, mc, db, schemas, e.getKey(), e.getValue(), plan, log);
            }
            undeclared(ctx, matrix, plan, log);
        } finally {
            if (own && mc != null) {
                mc.close();
            }
        }
        plan.creates().forEach(log::sql);
        plan.changes().forEach(log::sql);
    }

    /** The schemas the matrix names that exist; one finding per schema that does not. */
    private static Set<String> existingSchemas(Connection mc, AuditConfig.Matrix matrix, CheckLog log) throws SQLException {
        Map<String, Set<String>> named = new TreeMap<>();
        matrix.roles().forEach((role, spec) -> {
            for (Map<String, List<String>> m : List.of(spec.schemas(), spec.tables(), spec.sequences())) {
                m.keySet().forEach(s -> named.computeIfAbsent(s, k -> new TreeSet<>()).add(role));
            }
        });
        Set<String> exist = new LinkedHashSet<>();
        try (PreparedStatement ps = mc.prepareStatement("SELECT 1 FROM pg_namespace WHERE nspname = ?")) {
            for (Map.Entry<String, Set<String>> e : named.entrySet()) {
                ps.setString(1, e.getKey());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        exist.add(e.getKey());
                    } else {
                        log.add(Rule.MATRIX_SCHEMA_MISSING, "schema " + e.getKey(),
                                "schema " + e.getKey() + " does not exist in " + mc.getCatalog() + "; the matrix names it for " + String.join(", ", e.getValue()),
                                "the matrix describes a layout this database does not have, so those privileges cannot be checked",
                                "create the schema, or correct the matrix (wrong database or a typo)");
                    }
                }
            }
        }
        return exist;
    }

    private void compareRole(AuditContext ctx, Connection mc, String db, Set<String> schemas, String name,
                             AuditConfig.RoleSpec spec, Plan plan, CheckLog log) throws SQLException {
        String q = Identifiers.quote(name);
        Optional<RoleCatalog.Role> found = ctx.roles().get(name);
        if (found.isEmpty()) {
            log.add(Rule.MATRIX_ROLE_MISSING, name, "no role " + name + " in pg_roles",
                    "whatever depends on it (" + (spec.login() ? "logins, " : "") + "grants, scripts) fails; someone may create it ad hoc with too much power",
                    "run the statements from 'chrono-dr audit --print-sql'" + (spec.login() ? ", then set its password with \\password " + q : ""));
            plan.creates().add("CREATE ROLE " + q + " WITH " + attributes(spec)
                    + (spec.connectionLimit() == null ? "" : " CONNECTION LIMIT " + spec.connectionLimit()) + ";");
            if (spec.login()) {
                plan.creates().add("-- set its password in psql (never in this file): \\password " + q);
                if (spec.passwordExpiryRequired(ctx.config().requirePasswordExpiry())) {
                    plan.creates().add("-- then: ALTER ROLE " + q + " VALID UNTIL '<date of next rotation>';");
                }
            }
            for (String g : spec.memberOf()) {
                plan.changes().add("GRANT " + Identifiers.quote(g) + " TO " + q + ";");
            }
            grantAll(db, schemas, name, spec, plan);
            return;
        }
        RoleCatalog.Role role = found.get();
        attributes(ctx, role, spec, plan, log);
        connectionLimit(role, spec, plan, log);
        if (role.login() && spec.login() && !role.hasExpiry() && spec.passwordExpiryRequired(ctx.config().requirePasswordExpiry())) {
            plan.changes().add("-- " + q + " has no password expiry: rotate with \\password " + q
                    + ", then ALTER ROLE " + q + " VALID UNTIL '<date of next rotation>';");
        }
        memberships(ctx, role, spec, plan, log);
        if (mc != null) {
            privileges(ctx, mc, db, schemas, role, spec, plan, log);
        }
    }

    private static String attributes(AuditConfig.RoleSpec s) {
        return (s.login() ? "LOGIN" : "NOLOGIN") + (s.superuser() ? " SUPERUSER" : " NOSUPERUSER")
                + (s.createdb() ? " CREATEDB" : " NOCREATEDB") + (s.createrole() ? " CREATEROLE" : " NOCREATEROLE")
                + (s.replication() ? " REPLICATION" : " NOREPLICATION") + (s.bypassrls() ? " BYPASSRLS" : " NOBYPASSRLS");
    }

    private record Attribute(String name, boolean declared, boolean actual, Severity moreSeverity) {
    }

    private static void attributes(AuditContext ctx, RoleCatalog.Role role, AuditConfig.RoleSpec spec, Plan plan, CheckLog log) {
        String q = Identifiers.quote(role.name());
        List<Attribute> attrs = List.of(
                new Attribute("login", spec.login(), role.login(), Severity.WARNING),
                new Attribute("superuser", spec.superuser(), role.superuser(), Severity.CRITICAL),
                new Attribute("createdb", spec.createdb(), role.createdb(), Severity.WARNING),
                new Attribute("createrole", spec.createrole(), role.createrole(), Severity.WARNING),
                new Attribute("replication", spec.replication(), role.replication(), Severity.WARNING),
                new Attribute("bypassrls", spec.bypassrls(), role.bypassrls(), Severity.WARNING));
        List<String> alter = new ArrayList<>();
        for (Attribute a : attrs) {
            if (a.declared() == a.actual()) {
                continue;
            }
            String keyword = (a.declared() ? "" : "NO") + a.name().toUpperCase(java.util.Locale.ROOT);
            if (a.name().equals("superuser") && role.bootstrap() && !a.declared()) {
                plan.changes().add("-- " + q + " is the bootstrap superuser and cannot lose SUPERUSER: create a separate application "
                        + "role, move the objects to it (REASSIGN OWNED BY " + q + " TO <new role>) and point the application at it");
            } else {
                alter.add(keyword);
            }
            // An unexpected superuser is ROLE-EXTRA-SUPERUSER's finding; do not report it twice.
            if (a.name().equals("superuser") && a.actual() && !ctx.expectedSuperusers().contains(role.name())) {
                continue;
            }
            boolean more = a.actual();
            log.add(Rule.MATRIX_ATTRIBUTE, more ? a.moreSeverity() : Severity.WARNING, role.name(),
                    a.name() + ": matrix " + a.declared() + ", actual " + a.actual(),
                    more ? "the role has a power the matrix does not give it" : "the role lacks an attribute the matrix gives it; what relies on it fails",
                    "ALTER ROLE " + q + " " + keyword + ";");
        }
        if (!alter.isEmpty()) {
            plan.changes().add("ALTER ROLE " + q + " WITH " + String.join(" ", alter) + ";");
        }
    }

    private static void connectionLimit(RoleCatalog.Role role, AuditConfig.RoleSpec spec, Plan plan, CheckLog log) {
        Integer declared = spec.connectionLimit();
        if (declared == null || declared == role.connlimit()) {
            return;
        }
        String q = Identifiers.quote(role.name());
        plan.changes().add("ALTER ROLE " + q + " CONNECTION LIMIT " + declared + ";");
        if (role.connlimit() == -1) {
            return; // ROLE-NO-CONNLIMIT (roles check) reports an unlimited role the matrix limits
        }
        log.add(Rule.MATRIX_CONNECTION_LIMIT, role.name(),
                "rolconnlimit = " + role.connlimit() + "; the matrix sets " + (declared == -1 ? "-1 (unlimited)" : declared),
                declared > role.connlimit() || declared == -1 ? "the role may be refused connections it is meant to have"
                        : "the role may hold more connections than planned and starve the others",
                "ALTER ROLE " + q + " CONNECTION LIMIT " + declared + ";");
    }

    private static void memberships(AuditContext ctx, RoleCatalog.Role role, AuditConfig.RoleSpec spec, Plan plan, CheckLog log) {
        String q = Identifiers.quote(role.name());
        List<String> actual = ctx.roles().directGroups(role.name());
        for (String g : spec.memberOf()) {
            if (actual.contains(g)) {
                continue;
            }
            boolean exists = ctx.roles().get(g).isPresent() || ctx.config().matrix().roles().containsKey(g);
            log.add(Rule.MATRIX_MEMBERSHIP_MISSING, role.name() + " in " + g,
                    role.name() + " is not a member of " + g + (exists ? "" : " (and " + g + " does not exist)"),
                    "the privileges the matrix gives through " + g + " are missing",
                    "GRANT " + Identifiers.quote(g) + " TO " + q + ";");
            plan.changes().add(exists ? "GRANT " + Identifiers.quote(g) + " TO " + q + ";"
                    : "-- role " + Identifiers.quote(g) + " does not exist: create it before GRANT " + Identifiers.quote(g) + " TO " + q + ";");
        }
        for (String g : actual) {
            if (!spec.memberOf().contains(g)) {
                log.add(Rule.MATRIX_MEMBERSHIP_EXTRA, role.name() + " in " + g,
                        role.name() + " is a member of " + g + "; the matrix does not list it",
                        "membership passes on every privilege of " + g + (ctx.roles().get(g).map(RoleCatalog.Role::superuser).orElse(false)
                                ? ", which is a superuser" : ""),
                        "REVOKE " + Identifiers.quote(g) + " FROM " + q + ";");
                plan.changes().add("REVOKE " + Identifiers.quote(g) + " FROM " + q + ";");
            }
        }
    }

    /** GRANTs for a role that does not exist yet: everything the matrix lists. */
    private static void grantAll(String db, Set<String> schemas, String name, AuditConfig.RoleSpec spec, Plan plan) {
        String q = Identifiers.quote(name);
        if (!spec.database().isEmpty()) {
            plan.changes().add("GRANT " + String.join(", ", spec.database()) + " ON DATABASE " + Identifiers.quote(db) + " TO " + q + ";");
        }
        spec.schemas().forEach((s, p) -> {
            if (schemas.contains(s) && !p.isEmpty()) {
                plan.changes().add("GRANT " + String.join(", ", p) + " ON SCHEMA " + Identifiers.quote(s) + " TO " + q + ";");
            }
        });
        spec.tables().forEach((s, p) -> {
            if (schemas.contains(s) && !p.isEmpty()) {
                plan.changes().add("GRANT " + String.join(", ", p) + " ON ALL TABLES IN SCHEMA " + Identifiers.quote(s) + " TO " + q + ";");
            }
        });
        spec.sequences().forEach((s, p) -> {
            if (schemas.contains(s) && !p.isEmpty()) {
                plan.changes().add("GRANT " + String.join(", ", p) + " ON ALL SEQUENCES IN SCHEMA " + Identifiers.quote(s) + " TO " + q + ";");
            }
        });
    }

    private void privileges(AuditContext ctx, Connection mc, String db, Set<String> schemas, RoleCatalog.Role role,
                            AuditConfig.RoleSpec spec, Plan plan, CheckLog log) throws SQLException {
        String name = role.name();
        String q = Identifiers.quote(name);
        String qdb = Identifiers.quote(db);
        int major = ctx.server().version().major();

        // Database
        List<String> lacking = new ArrayList<>();
        try (PreparedStatement ps = mc.prepareStatement(DB_HAS)) {
            for (String p : spec.database()) {
                ps.setLong(1, role.oid());
                ps.setString(2, p);
                ps.setString(3, db);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && !rs.getBoolean(1)) {
                        lacking.add(p);
                    }
                }
            }
        }
        if (!lacking.isEmpty()) {
            String grant = "GRANT " + String.join(", ", lacking) + " ON DATABASE " + qdb + " TO " + q + ";";
            missing(log, name + " on database " + db, name + " lacks " + String.join(", ", lacking) + " on database " + db, grant);
            plan.changes().add(grant);
        }
        List<String> extraDb = strings(mc, DB_EXTRA, db, role.oid());
        extraDb.removeAll(spec.database());
        if (!extraDb.isEmpty()) {
            String revoke = "REVOKE " + String.join(", ", extraDb) + " ON DATABASE " + qdb + " FROM " + q + ";";
            extra(log, name + " on database " + db, name + " was granted " + String.join(", ", extraDb) + " on database " + db, revoke);
            plan.changes().add(revoke);
        }

        // Schemas
        for (Map.Entry<String, List<String>> e : spec.schemas().entrySet()) {
            String s = e.getKey();
            if (!schemas.contains(s)) {
                continue;
            }
            List<String> lack = new ArrayList<>();
            try (PreparedStatement ps = mc.prepareStatement(SCHEMA_HAS)) {
                for (String p : e.getValue()) {
                    ps.setLong(1, role.oid());
                    ps.setString(2, p);
                    ps.setString(3, s);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next() && !rs.getBoolean(1)) {
                            lack.add(p);
                        }
                    }
                }
            }
            if (!lack.isEmpty()) {
                String grant = "GRANT " + String.join(", ", lack) + " ON SCHEMA " + Identifiers.quote(s) + " TO " + q + ";";
                missing(log, name + " on schema " + s, name + " lacks " + String.join(", ", lack) + " on schema " + s, grant);
                plan.changes().add(grant);
            }
        }
        Map<String, List<String>> extraSchema = new TreeMap<>();
        try (PreparedStatement ps = mc.prepareStatement(SCHEMA_EXTRA)) {
            ps.setLong(1, role.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String s = rs.getString(1);
                    String p = rs.getString(2);
                    if (!spec.schemas().getOrDefault(s, List.of()).contains(p)) {
                        extraSchema.computeIfAbsent(s, k -> new ArrayList<>()).add(p);
                    }
                }
            }
        }
        extraSchema.forEach((s, p) -> {
            String revoke = "REVOKE " + String.join(", ", p) + " ON SCHEMA " + Identifiers.quote(s) + " FROM " + q + ";";
            extra(log, name + " on schema " + s, name + " was granted " + String.join(", ", p) + " on schema " + s, revoke);
            plan.changes().add(revoke);
        });

        // Tables and sequences: missing, per schema the matrix names
        relationsLacking(mc, major, schemas, role, spec.tables(), false, plan, log);
        relationsLacking(mc, major, schemas, role, spec.sequences(), true, plan, log);

        // Explicit grants beyond the matrix, in any schema
        Map<String, Map<String, List<String>>> extraRel = new TreeMap<>(); // "tables in s" -> relation -> privileges
        try (PreparedStatement ps = mc.prepareStatement(RELATION_EXTRA)) {
            ps.setLong(1, role.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String s = rs.getString(1);
                    String rel = rs.getString(2);
                    boolean seq = rs.getBoolean(3);
                    String p = rs.getString(4);
                    Map<String, List<String>> declared = seq ? spec.sequences() : spec.tables();
                    if (!declared.getOrDefault(s, List.of()).contains(p)) {
                        extraRel.computeIfAbsent((seq ? "sequences" : "tables") + " in " + s, k -> new LinkedHashMap<>())
                                .computeIfAbsent(rel, k -> new ArrayList<>()).add(p);
                    }
                }
            }
        }
        extraRel.forEach((where, rels) -> {
            boolean seq = where.startsWith("sequences");
            String schema = where.substring(where.indexOf(" in ") + 4);
            List<String> parts = new ArrayList<>();
            List<String> revokes = new ArrayList<>();
            rels.forEach((rel, p) -> {
                parts.add(String.join("/", p) + " on " + rel);
                revokes.add("REVOKE " + String.join(", ", p) + " ON " + (seq ? "SEQUENCE " : "TABLE ")
                        + Identifiers.qualified(schema, rel) + " FROM " + q + ";");
            });
            extra(log, name + " on " + where, name + " was granted " + limit(parts), String.join(" ", revokes.subList(0, Math.min(3, revokes.size())))
                    + (revokes.size() > 3 ? " ... (all in --print-sql)" : ""));
            plan.changes().addAll(revokes);
        });
    }

    private static void relationsLacking(Connection mc, int major, Set<String> schemas, RoleCatalog.Role role,
                                         Map<String, List<String>> declared, boolean sequences, Plan plan, CheckLog log) throws SQLException {
        String name = role.name();
        String q = Identifiers.quote(name);
        String kind = sequences ? "sequences" : "tables";
        for (Map.Entry<String, List<String>> e : declared.entrySet()) {
            String s = e.getKey();
            if (!schemas.contains(s)) {
                continue;
            }
            List<String> parts = new ArrayList<>();
            List<String> privileges = new ArrayList<>();
            for (String p : e.getValue()) {
                if (p.equals("MAINTAIN") && major < 17) {
                    parts.add("MAINTAIN (does not exist before PostgreSQL 17)");
                    continue;
                }
                List<String> rels = new ArrayList<>();
                try (PreparedStatement ps = mc.prepareStatement(sequences ? SEQUENCES_LACKING : TABLES_LACKING)) {
                    ps.setString(1, s);
                    ps.setLong(2, role.oid());
                    ps.setString(3, p);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            rels.add(rs.getString(1));
                        }
                    }
                }
                if (!rels.isEmpty()) {
                    privileges.add(p);
                    parts.add(p + " on " + limit(rels));
                }
            }
            if (!parts.isEmpty()) {
                String grant = privileges.isEmpty() ? "-- nothing to grant" : "GRANT " + String.join(", ", privileges) + " ON ALL "
                        + kind.toUpperCase(java.util.Locale.ROOT) + " IN SCHEMA " + Identifiers.quote(s) + " TO " + q + ";";
                missing(log, name + " on " + kind + " in " + s, name + " lacks " + String.join("; ", parts), grant);
                if (!privileges.isEmpty()) {
                    plan.changes().add(grant);
                }
            }
        }
    }

    private static void missing(CheckLog log, String object, String evidence, String fix) {
        log.add(Rule.MATRIX_PRIVILEGE_MISSING, object, evidence,
                "the role cannot do what the matrix says it is for (backups, monitoring, the application) and fails when it tries",
                fix);
    }

    private static void extra(CheckLog log, String object, String evidence, String fix) {
        log.add(Rule.MATRIX_PRIVILEGE_EXTRA, object, evidence + "; the matrix does not list it",
                "a privilege beyond the role's purpose is what turns a leaked password into changed or deleted data",
                fix);
    }

    private static void undeclared(AuditContext ctx, AuditConfig.Matrix matrix, Plan plan, CheckLog log) {
        for (RoleCatalog.Role r : ctx.roles().all()) {
            if (r.predefined() || r.bootstrap() || matrix.roles().containsKey(r.name())
                    || ctx.config().expectedSuperusers().contains(r.name())) {
                continue;
            }
            String q = Identifiers.quote(r.name());
            log.add(Rule.MATRIX_ROLE_UNDECLARED, r.login() ? Severity.WARNING : Severity.INFO, r.name(),
                    "role " + r.name() + " exists (" + (r.login() ? "LOGIN" : "NOLOGIN") + (r.superuser() ? ", SUPERUSER" : "")
                            + ") and is not in the matrix",
                    r.login() ? "a login nobody planned is how access outlives the people and services it was made for"
                            : "an undeclared group role may carry privileges nobody reviews",
                    "add it to the matrix if it is meant to exist; otherwise ALTER ROLE " + q + " NOLOGIN; and later REASSIGN OWNED/DROP OWNED/DROP ROLE");
            plan.changes().add("-- " + q + " is not in the matrix: declare it, or ALTER ROLE " + q + " NOLOGIN; (then DROP ROLE once it owns nothing)");
        }
    }

    private static List<String> strings(Connection c, String sql, String db, long oid) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, db);
            ps.setLong(2, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    private static String limit(List<String> items) {
        int n = PrivilegeCheck.LIST_LIMIT;
        return items.size() <= n ? String.join(", ", items) : String.join(", ", items.subList(0, n)) + " and " + (items.size() - n) + " more";
    }
}
