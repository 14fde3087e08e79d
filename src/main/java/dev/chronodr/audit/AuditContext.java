package dev.chronodr.audit;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.ServerInfo;

/**
 * What every check reads: the session (read-only), the server, the config, the roles,
 * the settings this session may see and, for a superuser only, the stored verifiers.
 */
final class AuditContext {
    private final Connection connection;
    private final ConnectionSettings settings;
    private final ServerInfo server;
    private final AuditConfig config;
    private final RoleCatalog roles;
    private final WeakPasswords weakPasswords;
    private final Map<String, String> visibleSettings;
    private final Map<String, PasswordVerifier> verifiers;

    private AuditContext(Connection connection, ConnectionSettings settings, ServerInfo server, AuditConfig config,
                         RoleCatalog roles, WeakPasswords weakPasswords, Map<String, String> visibleSettings,
                         Map<String, PasswordVerifier> verifiers) {
        this.connection = connection;
        this.settings = settings;
        this.server = server;
        this.config = config;
        this.roles = roles;
        this.weakPasswords = weakPasswords;
        this.visibleSettings = visibleSettings;
        this.verifiers = verifiers;
    }

    static AuditContext load(Connection c, ConnectionSettings settings, ServerInfo server, AuditConfig config,
                             WeakPasswords weak) throws SQLException {
        RoleCatalog roles = RoleCatalog.load(c, server.version());
        // Settings a role may not read (superuser-only ones) are simply absent from pg_settings.
        Map<String, String> visible = new LinkedHashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT name, setting FROM pg_settings")) {
            while (rs.next()) {
                visible.put(rs.getString(1), rs.getString(2));
            }
        }
        Map<String, PasswordVerifier> verifiers = null;
        if (server.superuser()) {
            verifiers = new LinkedHashMap<>();
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT rolname, rolpassword FROM pg_authid ORDER BY rolname")) {
                while (rs.next()) {
                    String stored = rs.getString(2);
                    verifiers.put(rs.getString(1), stored == null ? null : PasswordVerifier.parse(stored));
                }
            }
        }
        return new AuditContext(c, settings, server, config, roles, weak, visible, verifiers);
    }

    Connection connection() {
        return connection;
    }

    ConnectionSettings settings() {
        return settings;
    }

    ServerInfo server() {
        return server;
    }

    AuditConfig config() {
        return config;
    }

    RoleCatalog roles() {
        return roles;
    }

    WeakPasswords weakPasswords() {
        return weakPasswords;
    }

    Optional<String> setting(String name) {
        return Optional.ofNullable(visibleSettings.get(name));
    }

    /** Role name to verifier (null value: no password); empty when not connected as a superuser. */
    Optional<Map<String, PasswordVerifier>> verifiers() {
        return Optional.ofNullable(verifiers);
    }

    /** The bootstrap superuser, the config's expected_superusers and the matrix's superusers. */
    java.util.Set<String> expectedSuperusers() {
        java.util.Set<String> expected = new java.util.TreeSet<>(config.expectedSuperusers());
        roles.bootstrap().ifPresent(r -> expected.add(r.name()));
        if (config.matrix() != null) {
            config.matrix().roles().forEach((name, spec) -> {
                if (spec.superuser()) {
                    expected.add(name);
                }
            });
        }
        return expected;
    }
}
