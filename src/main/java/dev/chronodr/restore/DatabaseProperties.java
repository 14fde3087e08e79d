package dev.chronodr.restore;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

import dev.chronodr.pg.Identifiers;

/**
 * What belongs to a database rather than to its contents, so pg_dump does not carry it and a
 * new database starts without it: owner, ACL (who may connect), comment, connection limit,
 * {@code ALTER DATABASE / ALTER ROLE ... IN DATABASE ... SET} settings, security labels, and
 * where and how it was created (tablespace, encoding, locale). Captured from the live
 * database and put onto the one that takes its place.
 *
 * @param acl      the effective ACL as sorted {@code grantee=PRIV[*]/grantor} items (the default
 *                 ACL spelled out when datacl is NULL, so NULL and its explicit equal compare equal)
 * @param settings role name ("" for every role) to its sorted {@code name=value} settings
 * @param labels   provider to label
 * @param localeProvider {@code icu} or {@code builtin} (PostgreSQL 15+; null for libc), with
 *                 {@code providerLocale} its locale
 */
record DatabaseProperties(String name, String owner, boolean explicitAcl, List<String> acl, List<AclItem> aclItems, String comment,
                          int connectionLimit, Map<String, List<String>> settings, Map<String, String> labels,
                          String tablespace, String encoding, String collate, String ctype, String localeProvider, String providerLocale) {

    /** One privilege as aclexplode() shows it; grantee "" is PUBLIC. */
    record AclItem(String grantor, String grantee, String privilege, boolean grantable) {
    }

    /** Settings that hold lists of quoted items: each item must be given separately (as pg_dumpall does). */
    private static final Set<String> LIST_QUOTED = Set.of("local_preload_libraries", "search_path", "session_preload_libraries",
            "shared_preload_libraries", "temp_tablespaces", "unix_socket_directories");

    /** The properties of {@code db}, or null when it does not exist. */
    static DatabaseProperties capture(Connection admin, String db) throws SQLException {
        long oid;
        String owner;
        boolean explicit;
        String comment;
        int limit;
        String spc;
        String enc;
        String collate;
        String ctype;
        String provider = null;
        String providerLocale = null;
        // The locale provider came in PostgreSQL 15 (daticulocale), its locale column was renamed datlocale in 17.
        int version = admin.getMetaData().getDatabaseMajorVersion();
        String providerColumns = version >= 17 ? ", d.datlocprovider::text, d.datlocale" : version >= 15 ? ", d.datlocprovider::text, d.daticulocale" : "";
        try (PreparedStatement ps = admin.prepareStatement("""
                SELECT d.oid, pg_get_userbyid(d.datdba), d.datacl IS NOT NULL, shobj_description(d.oid, 'pg_database'),
                       d.datconnlimit, t.spcname, pg_encoding_to_char(d.encoding), d.datcollate, d.datctype%s
                FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = ?""".formatted(providerColumns))) {
            ps.setString(1, db);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                oid = rs.getLong(1);
                owner = rs.getString(2);
                explicit = rs.getBoolean(3);
                comment = rs.getString(4);
                limit = rs.getInt(5);
                spc = rs.getString(6);
                enc = rs.getString(7);
                collate = rs.getString(8);
                ctype = rs.getString(9);
                if (rs.getMetaData().getColumnCount() > 9) {
                    provider = switch (String.valueOf(rs.getString(10))) {
                        case "i" -> "icu";
                        case "b" -> "builtin";
                        default -> null;
                    };
                    providerLocale = provider == null ? null : rs.getString(11);
                }
            }
        }
        List<AclItem> items = new ArrayList<>();
        try (PreparedStatement ps = admin.prepareStatement("""
                SELECT pg_get_userbyid(a.grantor), CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee) END,
                       a.privilege_type, a.is_grantable
                FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a WHERE d.oid = ?
                ORDER BY 1, 2, 3""")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    items.add(new AclItem(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4)));
                }
            }
        }
        List<String> acl = items.stream()
                .map(i -> (i.grantee().isEmpty() ? "PUBLIC" : i.grantee()) + "=" + i.privilege() + (i.grantable() ? "*" : "") + "/" + i.grantor())
                .sorted().toList();
        Map<String, List<String>> settings = new TreeMap<>();
        try (PreparedStatement ps = admin.prepareStatement("""
                SELECT coalesce(r.rolname, ''), s.setconfig FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole
                WHERE s.setdatabase = ?""")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Array a = rs.getArray(2);
                    List<String> config = a == null ? List.of() : Arrays.stream((Object[]) a.getArray()).map(String::valueOf).sorted().toList();
                    if (!config.isEmpty()) {
                        settings.put(rs.getString(1), config);
                    }
                }
            }
        }
        Map<String, String> labels = new TreeMap<>();
        try (PreparedStatement ps = admin.prepareStatement(
                "SELECT provider, label FROM pg_shseclabel WHERE classoid = 'pg_database'::regclass AND objoid = ?")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    labels.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return new DatabaseProperties(db, owner, explicit, acl, items, comment, limit, settings, labels, spc, enc, collate, ctype,
                provider, providerLocale);
    }

    /**
     * Puts these properties, except the comment (see {@link #commentSql}), onto {@code db}.
     * Returns what could not be applied, each as a note; the rest went on.
     */
    List<String> applyTo(Connection admin, String db) {
        List<String> problems = new ArrayList<>();
        String q = Identifiers.quote(db);
        run(admin, "ALTER DATABASE " + q + " OWNER TO " + Identifiers.quote(owner), "owner " + owner, problems);
        run(admin, "ALTER DATABASE " + q + " CONNECTION LIMIT " + connectionLimit, "connection limit " + connectionLimit, problems);
        if (explicitAcl) {
            // Start from nothing, then grant exactly what the live database had. A superuser's GRANT is
            // recorded as the owner's; a grant made by someone else is made as that role.
            run(admin, "REVOKE ALL ON DATABASE " + q + " FROM PUBLIC", "the ACL", problems);
            run(admin, "REVOKE ALL ON DATABASE " + q + " FROM " + Identifiers.quote(owner), "the ACL", problems);
            List<AclItem> ordered = new ArrayList<>(aclItems);
            ordered.sort((a, b) -> Boolean.compare(!a.grantor().equals(owner), !b.grantor().equals(owner)));
            for (AclItem i : ordered) {
                String grant = "GRANT " + i.privilege() + " ON DATABASE " + q + " TO "
                        + (i.grantee().isEmpty() ? "PUBLIC" : Identifiers.quote(i.grantee())) + (i.grantable() ? " WITH GRANT OPTION" : "");
                String what = "ACL item " + (i.grantee().isEmpty() ? "PUBLIC" : i.grantee()) + "=" + i.privilege() + "/" + i.grantor();
                if (i.grantor().equals(owner)) {
                    run(admin, grant, what, problems);
                } else {
                    run(admin, "SET ROLE " + Identifiers.quote(i.grantor()) + "; " + grant + "; RESET ROLE", what, problems);
                    run(admin, "RESET ROLE", "RESET ROLE", new ArrayList<>());
                }
            }
        }
        settings.forEach((role, config) -> {
            for (String entry : config) {
                String sql = (role.isEmpty() ? "ALTER DATABASE " + q : "ALTER ROLE " + Identifiers.quote(role) + " IN DATABASE " + q)
                        + " SET " + setting(entry);
                run(admin, sql, "setting " + entry + (role.isEmpty() ? "" : " for role " + role), problems);
            }
        });
        labels.forEach((provider, label) -> run(admin, "SECURITY LABEL FOR " + Identifiers.quote(provider) + " ON DATABASE " + q + " IS "
                + RestoreService.literal(label), "security label of provider " + provider, problems));
        return problems;
    }

    /** The CREATE DATABASE options that make a new database like this one, from template0. */
    String createOptions() {
        StringBuilder sql = new StringBuilder(" ENCODING ").append(RestoreService.literal(encoding))
                .append(" LC_COLLATE ").append(RestoreService.literal(collate))
                .append(" LC_CTYPE ").append(RestoreService.literal(ctype));
        if ("icu".equals(localeProvider) && providerLocale != null) {
            sql.append(" LOCALE_PROVIDER icu ICU_LOCALE ").append(RestoreService.literal(providerLocale));
        } else if ("builtin".equals(localeProvider) && providerLocale != null) {
            sql.append(" LOCALE_PROVIDER builtin BUILTIN_LOCALE ").append(RestoreService.literal(providerLocale));
        }
        sql.append(" OWNER ").append(Identifiers.quote(owner));
        // Naming pg_default needs CREATE on it, which a non-superuser owner with CREATEDB lacks; it is the default anyway.
        return "pg_default".equals(tablespace) ? sql.toString() : sql.append(" TABLESPACE ").append(Identifiers.quote(tablespace)).toString();
    }

    /** The statement that gives {@code db} this comment (or none). */
    String commentSql(String db) {
        return "COMMENT ON DATABASE " + Identifiers.quote(db) + " IS " + (comment == null ? "NULL" : RestoreService.literal(comment));
    }

    /**
     * What differs between these (the live database's) properties and {@code other}'s, as
     * notes naming the property, with both values. The name and, unless asked, the comment are
     * not compared.
     */
    List<String> differences(DatabaseProperties other, boolean withComment) {
        List<String> out = new ArrayList<>();
        diff(out, "owner", owner, other.owner);
        diff(out, "ACL", acl, other.acl);
        if (withComment) {
            diff(out, "comment", comment, other.comment);
        }
        diff(out, "connection limit", connectionLimit, other.connectionLimit);
        diff(out, "settings", settings, other.settings);
        diff(out, "security labels", labels, other.labels);
        diff(out, "tablespace", tablespace, other.tablespace);
        diff(out, "encoding", encoding, other.encoding);
        diff(out, "LC_COLLATE", collate, other.collate);
        diff(out, "LC_CTYPE", ctype, other.ctype);
        diff(out, "locale provider", localeProvider == null ? "libc" : localeProvider + " " + providerLocale,
                other.localeProvider == null ? "libc" : other.localeProvider + " " + other.providerLocale);
        return out;
    }

    private static void diff(List<String> out, String what, Object was, Object now) {
        if (!Objects.equals(was, now)) {
            out.add(what + " was " + was + ", is now " + now);
        }
    }

    private static void run(Connection admin, String sql, String what, List<String> problems) {
        try (Statement st = admin.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            problems.add("could not keep " + what + ": " + e.getMessage());
        }
    }

    /** {@code name=value} from setconfig as the tail of ALTER ... SET: each part of the name quoted, the value as literals. */
    static String setting(String entry) {
        int eq = entry.indexOf('=');
        String name = entry.substring(0, eq);
        String value = entry.substring(eq + 1);
        StringBuilder sql = new StringBuilder();
        for (String part : name.split("\\.", -1)) {
            sql.append(sql.isEmpty() ? "" : ".").append(Identifiers.quote(part));
        }
        sql.append(" TO ");
        if (LIST_QUOTED.contains(name.toLowerCase(java.util.Locale.ROOT))) {
            List<String> items = splitList(value);
            if (items.isEmpty()) {
                return sql.append("''").toString();
            }
            sql.append(String.join(", ", items.stream().map(RestoreService::literal).toList()));
            return sql.toString();
        }
        return sql.append(RestoreService.literal(value)).toString();
    }

    /** A GUC list as PostgreSQL stores it ({@code "$user", public}): items split at commas, double quotes removed. */
    static List<String> splitList(String value) {
        List<String> items = new ArrayList<>();
        int i = 0;
        int n = value.length();
        while (i < n) {
            while (i < n && Character.isWhitespace(value.charAt(i))) {
                i++;
            }
            if (i >= n) {
                break;
            }
            StringBuilder item = new StringBuilder();
            if (value.charAt(i) == '"') {
                i++;
                while (i < n) {
                    char c = value.charAt(i++);
                    if (c == '"') {
                        if (i < n && value.charAt(i) == '"') {
                            item.append('"');
                            i++;
                        } else {
                            break;
                        }
                    } else {
                        item.append(c);
                    }
                }
                while (i < n && value.charAt(i) != ',') {
                    i++;
                }
            } else {
                while (i < n && value.charAt(i) != ',') {
                    item.append(value.charAt(i++));
                }
            }
            items.add(item.toString().strip());
            i++; // the comma
        }
        return items;
    }
}
