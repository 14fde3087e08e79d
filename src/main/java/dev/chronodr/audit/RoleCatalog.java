package dev.chronodr.audit;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.chronodr.pg.PgVersion;

/**
 * The cluster's roles as pg_roles shows them to anyone (no passwords here), with their
 * direct memberships. Loaded once per audit and shared by the checks.
 */
public final class RoleCatalog {
    /** The bootstrap superuser always has this OID; it cannot lose superuser. */
    static final long BOOTSTRAP_OID = 10;

    public record Role(long oid, String name, boolean superuser, boolean inherit, boolean createrole, boolean createdb,
                       boolean login, boolean replication, boolean bypassrls, int connlimit,
                       boolean hasExpiry, boolean expired, String validUntil) {
        boolean bootstrap() {
            return oid == BOOTSTRAP_OID;
        }

        boolean predefined() {
            return name.startsWith("pg_");
        }
    }

    /** A direct membership; canSet says SET ROLE to the group is allowed (always before PG16). */
    public record Membership(String member, String group, boolean canSet) {
    }

    private static final String ROLES = """
            SELECT oid, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication,
                   rolbypassrls, rolconnlimit,
                   rolvaliduntil IS NOT NULL AND rolvaliduntil <> 'infinity' AS has_expiry,
                   rolvaliduntil IS NOT NULL AND rolvaliduntil < now() AS expired,
                   rolvaliduntil::text
            FROM pg_roles ORDER BY rolname
            """;

    // PG16 split membership into INHERIT and SET options; only SET lets a member become the group.
    private static String memberships(PgVersion version) {
        String canSet = version.major() >= 16 ? "m.set_option" : "true";
        return """
                SELECT u.rolname AS member, g.rolname AS grp, %s AS can_set
                FROM pg_auth_members m
                JOIN pg_roles u ON u.oid = m.member
                JOIN pg_roles g ON g.oid = m.roleid
                ORDER BY 1, 2
                """.formatted(canSet);
    }

    private final Map<String, Role> roles;
    private final List<Membership> memberships;

    RoleCatalog(Map<String, Role> roles, List<Membership> memberships) {
        this.roles = roles;
        this.memberships = List.copyOf(memberships);
    }

    public static RoleCatalog load(Connection c, PgVersion version) throws SQLException {
        Map<String, Role> roles = new LinkedHashMap<>();
        List<Membership> members = new ArrayList<>();
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery(ROLES)) {
                while (rs.next()) {
                    Role r = new Role(rs.getLong(1), rs.getString(2), rs.getBoolean(3), rs.getBoolean(4), rs.getBoolean(5),
                            rs.getBoolean(6), rs.getBoolean(7), rs.getBoolean(8), rs.getBoolean(9), rs.getInt(10),
                            rs.getBoolean(11), rs.getBoolean(12), rs.getString(13));
                    roles.put(r.name(), r);
                }
            }
            try (ResultSet rs = st.executeQuery(memberships(version))) {
                while (rs.next()) {
                    members.add(new Membership(rs.getString(1), rs.getString(2), rs.getBoolean(3)));
                }
            }
        }
        return new RoleCatalog(roles, members);
    }

    public Optional<Role> get(String name) {
        return Optional.ofNullable(roles.get(name));
    }

    public Collection<Role> all() {
        return roles.values();
    }

    public Optional<Role> bootstrap() {
        return roles.values().stream().filter(Role::bootstrap).findFirst();
    }

    /** The groups a role is a direct member of, sorted. */
    public List<String> directGroups(String member) {
        return memberships.stream().filter(m -> m.member().equals(member)).map(Membership::group).sorted().toList();
    }

    /** Every group reachable from the role (transitively); with {@code setOnly}, only through SET-able memberships. */
    public Set<String> reachableGroups(String member, boolean setOnly) {
        Set<String> seen = new LinkedHashSet<>();
        Deque<String> todo = new ArrayDeque<>(List.of(member));
        while (!todo.isEmpty()) {
            String cur = todo.pop();
            for (Membership m : memberships) {
                if (m.member().equals(cur) && (!setOnly || m.canSet()) && seen.add(m.group())) {
                    todo.push(m.group());
                }
            }
        }
        return seen;
    }

    /** True when the role is a (transitive) member of {@code group}, or is it. */
    public boolean isMemberOf(String member, String group) {
        return member.equals(group) || reachableGroups(member, false).contains(group);
    }
}
