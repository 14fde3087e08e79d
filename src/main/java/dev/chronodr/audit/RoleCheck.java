package dev.chronodr.audit;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.chronodr.pg.Identifiers;

/** Superusers beyond the expected ones, passwords that never expire, missing connection limits. */
final class RoleCheck implements AuditCheck {
    @Override
    public String id() {
        return "roles";
    }

    @Override
    public String title() {
        return "Roles: superusers, password expiry, connection limits";
    }

    @Override
    public boolean essential() {
        return false;
    }

    @Override
    public void run(AuditContext ctx, CheckLog log) {
        RoleCatalog roles = ctx.roles();
        Set<String> expected = ctx.expectedSuperusers();
        Map<String, AuditConfig.RoleSpec> matrix = ctx.config().matrix() == null ? Map.of() : ctx.config().matrix().roles();
        Optional<Map<String, PasswordVerifier>> verifiers = ctx.verifiers();

        for (RoleCatalog.Role r : roles.all()) {
            if (r.predefined()) {
                continue;
            }
            String q = Identifiers.quote(r.name());
            if (r.superuser() && !expected.contains(r.name())) {
                log.add(Rule.ROLE_EXTRA_SUPERUSER, r.name(),
                        "rolsuper = true" + (r.login() ? ", can log in" : ", NOLOGIN") + "; expected superusers: " + String.join(", ", expected),
                        "a superuser bypasses every permission check, can read any file the server can and run programs as the server's OS user",
                        "ALTER ROLE " + q + " NOSUPERUSER; (or, if it is meant to be one, add it to audit.expected_superusers or the matrix with superuser: true)");
            } else if (!r.superuser() && r.login() && !expected.contains(r.name())) {
                List<String> via = roles.reachableGroups(r.name(), true).stream()
                        .filter(g -> roles.get(g).map(RoleCatalog.Role::superuser).orElse(false)).sorted().toList();
                if (!via.isEmpty()) {
                    log.add(Rule.ROLE_EXTRA_SUPERUSER, r.name(),
                            "member of superuser role " + String.join(", ", via) + ": SET ROLE " + via.get(0) + " makes it a superuser",
                            "membership in a superuser role is superuser power one SET ROLE away",
                            "REVOKE " + Identifiers.quote(via.get(0)) + " FROM " + q + ";");
                }
            }

            if (r.login() && !r.hasExpiry()) {
                AuditConfig.RoleSpec spec = matrix.get(r.name());
                boolean required = spec == null ? ctx.config().requirePasswordExpiry()
                        : spec.passwordExpiryRequired(ctx.config().requirePasswordExpiry());
                // A role known to have no password cannot expire one; ROLE-NO-PASSWORD reports it instead.
                boolean knownPasswordless = verifiers.map(v -> v.get(r.name()) == null).orElse(false);
                if (required && !knownPasswordless) {
                    log.add(Rule.ROLE_NO_PASSWORD_EXPIRY, r.name(),
                            "rolcanlogin = true, rolvaliduntil = " + (r.validUntil() == null ? "NULL" : r.validUntil()),
                            "a password that never expires stays valid after it leaks or its owner leaves; rotation is never forced",
                            "rotate the password (\\password " + q + "), then ALTER ROLE " + q + " VALID UNTIL '<date of next rotation>';");
                }
            }

            AuditConfig.RoleSpec spec = matrix.get(r.name());
            if (spec != null && spec.connectionLimit() != null && spec.connectionLimit() >= 0 && r.connlimit() == -1) {
                log.add(Rule.ROLE_NO_CONNLIMIT, r.name(),
                        "rolconnlimit = -1 (unlimited); the matrix sets " + spec.connectionLimit(),
                        "without a limit one runaway client of this role can take every connection slot, and backups and monitoring are locked out",
                        "ALTER ROLE " + q + " CONNECTION LIMIT " + spec.connectionLimit() + ";");
            }
        }
    }
}
