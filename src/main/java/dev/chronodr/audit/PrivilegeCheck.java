package dev.chronodr.audit;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.chronodr.pg.Identifiers;

/**
 * In the connected database: schemas where PUBLIC may CREATE, SECURITY DEFINER functions
 * PUBLIC may call without a pinned search_path, and what the application role owns.
 */
final class PrivilegeCheck implements AuditCheck {
    /** Objects listed per finding before "and N more". */
    static final int LIST_LIMIT = 10;

    // A NULL ACL means the built-in default; acldefault() makes it explicit so PUBLIC's
    // implicit rights (CREATE on public before PostgreSQL 15, EXECUTE on functions) show up.
    private static final String PUBLIC_CREATE = """
            SELECT n.nspname, coalesce(n.nspacl, acldefault('n', n.nspowner))::text
            FROM pg_namespace n
            WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
              AND EXISTS (SELECT 1 FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
                          WHERE a.grantee = 0 AND a.privilege_type = 'CREATE')
            ORDER BY 1
            """;

    private static final String SECDEF = """
            SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
                   r.rolname, r.rolsuper, coalesce(array_to_string(p.proconfig, ', '), '')
            FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            JOIN pg_roles r ON r.oid = p.proowner
            WHERE p.prosecdef
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}'::text[])) c WHERE c LIKE 'search\\_path=%')
              AND EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                          WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
            ORDER BY 1
            """;

    // Everything the role owns here, with the schema it lives in (NULL for databases and schemas themselves).
    private static final String OWNED = """
            SELECT * FROM (
                SELECT 'database' AS kind, NULL::text AS schema, d.datname AS name FROM pg_database d
                WHERE d.datdba = ? AND d.datname NOT IN ('template0', 'template1')
                UNION ALL
                SELECT 'schema', n.nspname, n.nspname FROM pg_namespace n WHERE n.nspowner = ?
                UNION ALL
                SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                                      WHEN 'f' THEN 'foreign table' ELSE 'table' END,
                       n.nspname, c.relname
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relowner = ? AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                UNION ALL
                SELECT 'function', n.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proowner = ?
            ) owned
            -- The system's own objects belong to the bootstrap superuser; if that is the application
            -- role, MATRIX-ATTRIBUTE already says so, and listing pg_catalog would bury everything else.
            WHERE schema IS NULL OR (schema NOT IN ('pg_catalog', 'information_schema') AND schema NOT LIKE 'pg\\_%')
            ORDER BY 1, 2, 3
            """;

    @Override
    public String id() {
        return "privileges";
    }

    @Override
    public String title() {
        return "Privileges: PUBLIC CREATE, SECURITY DEFINER functions, application role ownership";
    }

    @Override
    public boolean essential() {
        return false;
    }

    @Override
    public void run(AuditContext ctx, CheckLog log) throws SQLException {
        String db = ctx.server().database();
        try (Statement st = ctx.connection().createStatement()) {
            try (ResultSet rs = st.executeQuery(PUBLIC_CREATE)) {
                while (rs.next()) {
                    String schema = rs.getString(1);
                    String q = Identifiers.quote(schema);
                    log.add(Rule.PRIV_PUBLIC_CREATE, "schema " + schema,
                            "database " + db + ": PUBLIC holds CREATE on schema " + schema + " (ACL " + rs.getString(2) + ")",
                            "any role can create functions and operators there that shadow built-ins for other users "
                                    + "(CVE-2018-1058), and fill the disk with tables; this was the default before PostgreSQL 15",
                            "REVOKE CREATE ON SCHEMA " + q + " FROM PUBLIC; and GRANT CREATE ON SCHEMA " + q + " only to the roles that migrate");
                }
            }
            try (ResultSet rs = st.executeQuery(SECDEF)) {
                while (rs.next()) {
                    String fn = rs.getString(1);
                    boolean superOwner = rs.getBoolean(3);
                    String config = rs.getString(4);
                    log.add(Rule.PRIV_SECDEF_SEARCH_PATH, superOwner ? Severity.CRITICAL : Severity.WARNING, "function " + fn,
                            "database " + db + ": SECURITY DEFINER, owner " + rs.getString(2) + (superOwner ? " (superuser)" : "")
                                    + ", EXECUTE granted to PUBLIC, proconfig " + (config.isEmpty() ? "empty" : config),
                            "it runs with its owner's rights but resolves names through the caller's search_path, so any role "
                                    + "that can create an object the function uses unqualified can run code as "
                                    + (superOwner ? "a superuser" : "the owner"),
                            "ALTER FUNCTION " + fn + " SET search_path = pg_catalog, pg_temp; and, unless everyone must call it, "
                                    + "REVOKE EXECUTE ON FUNCTION " + fn + " FROM PUBLIC;");
                }
            }
        }
        AuditConfig.ApplicationRole app = ctx.config().applicationRole();
        if (app == null) {
            return;
        }
        Optional<RoleCatalog.Role> role = ctx.roles().get(app.name());
        if (role.isEmpty()) {
            return; // the matrix reports a missing role; nothing can be owned by it
        }
        applicationOwnership(ctx, log, app, role.get());
    }

    private static void applicationOwnership(AuditContext ctx, CheckLog log, AuditConfig.ApplicationRole app, RoleCatalog.Role role)
            throws SQLException {
        // Grouped by where the object lives, so one finding says "owns 12 objects in schema x".
        Map<String, List<String>> byPlace = new LinkedHashMap<>();
        try (PreparedStatement ps = ctx.connection().prepareStatement(OWNED)) {
            for (int i = 1; i <= 4; i++) {
                ps.setLong(i, role.oid());
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String kind = rs.getString(1);
                    String schema = rs.getString(2);
                    String name = rs.getString(3);
                    if (kind.equals("database")) {
                        if (!app.mayOwnDatabase()) {
                            byPlace.computeIfAbsent("database " + name, k -> new ArrayList<>()).add("the database itself");
                        }
                    } else if (!app.mayOwnInSchemas().contains(schema)) {
                        byPlace.computeIfAbsent("schema " + schema, k -> new ArrayList<>())
                                .add(kind.equals("schema") ? "the schema itself" : kind + " " + name);
                    }
                }
            }
        }
        String q = Identifiers.quote(app.name());
        byPlace.forEach((place, objects) -> {
            String list = objects.size() <= LIST_LIMIT ? String.join(", ", objects)
                    : String.join(", ", objects.subList(0, LIST_LIMIT)) + " and " + (objects.size() - LIST_LIMIT) + " more";
            boolean database = place.startsWith("database ");
            log.add(Rule.PRIV_APP_OWNS, place,
                    "application role " + app.name() + " owns " + list
                            + (database ? "" : " (allowed schemas: " + (app.mayOwnInSchemas().isEmpty() ? "none" : String.join(", ", app.mayOwnInSchemas())) + ")"),
                    database ? "the owner of a database can drop it, rename it and change its settings; a compromised application could destroy it"
                            : "an owner can drop, alter and re-grant its objects whatever the matrix says; the application should own only its own schema",
                    database ? "ALTER DATABASE " + Identifiers.quote(place.substring("database ".length())) + " OWNER TO <an administrative role>;"
                            : "ALTER ... OWNER TO <the schema's owner> for each object listed (or REASSIGN OWNED BY " + q
                                    + " TO <role> in a database where it owns nothing else)");
        });
    }
}
