package dev.chronodr.audit;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.pg.Identifiers;

/**
 * Missing, md5 and weak passwords, tested offline against the stored verifiers. Needs a
 * superuser (pg_authid). The report names the role, never the password that matched.
 */
final class PasswordCheck implements AuditCheck {
    private static final Logger log = LoggerFactory.getLogger(PasswordCheck.class);

    /**
     * Which roles' verifiers match a candidate. Each SCRAM candidate costs a PBKDF2 run
     * (4096 HMAC rounds by default), so roles are tested in parallel on the common pool.
     */
    static Map<String, Boolean> weakRoles(RoleCatalog roles, Map<String, PasswordVerifier> stored, WeakPasswords weak) {
        List<RoleCatalog.Role> testable = roles.all().stream()
                .filter(r -> !r.predefined() && stored.get(r.name()) != null && stored.get(r.name()).kind() != PasswordVerifier.Kind.UNKNOWN)
                .toList();
        long started = System.nanoTime();
        Map<String, Boolean> result = testable.parallelStream().collect(Collectors.toConcurrentMap(RoleCatalog.Role::name, r -> {
            PasswordVerifier v = stored.get(r.name());
            return weak.candidatesFor(r.name()).stream().anyMatch(c -> v.matches(c, r.name()));
        }));
        log.debug("tested {} verifiers against {} candidates each in {} ms", testable.size(), weak.size() + 2,
                (System.nanoTime() - started) / 1_000_000);
        return result;
    }

    @Override
    public String id() {
        return "passwords";
    }

    @Override
    public String title() {
        return "Passwords: missing, md5, weak or default";
    }

    @Override
    public boolean essential() {
        return true;
    }

    @Override
    public void run(AuditContext ctx, CheckLog out) {
        Optional<Map<String, PasswordVerifier>> stored = ctx.verifiers();
        if (stored.isEmpty()) {
            out.skip("reading password verifiers needs a superuser (pg_authid is readable only by superusers); "
                            + "connected as " + ctx.server().currentUser() + ", so weak, default and missing passwords were not tested",
                    true, Rule.PASSWORD_WEAK, Rule.PASSWORD_MD5, Rule.ROLE_NO_PASSWORD);
            return;
        }
        WeakPasswords weak = ctx.weakPasswords();
        Map<String, Boolean> weakRoles = weakRoles(ctx.roles(), stored.get(), weak);
        for (RoleCatalog.Role r : ctx.roles().all()) {
            if (r.predefined()) {
                continue;
            }
            String q = Identifiers.quote(r.name());
            PasswordVerifier v = stored.get().get(r.name());
            if (v == null) {
                if (r.login()) {
                    out.add(Rule.ROLE_NO_PASSWORD, r.name(), "rolcanlogin = true, rolpassword IS NULL",
                            "it logs in only through a pg_hba.conf method that asks for no password (trust, peer, ident, cert); "
                                    + "under a trust rule anyone who reaches the server can be this role",
                            "give it a password (\\password " + q + ") or, if nothing logs in as it, ALTER ROLE " + q + " NOLOGIN;");
                }
                continue;
            }
            if (v.kind() == PasswordVerifier.Kind.MD5) {
                out.add(Rule.PASSWORD_MD5, r.name(), "rolpassword is an md5 verifier",
                        "an md5 verifier is enough to log in with md5 authentication (pass-the-hash) and is fast to brute-force; "
                                + "md5 passwords are deprecated since PostgreSQL 18",
                        "SET password_encryption = 'scram-sha-256'; then \\password " + q + " to store a SCRAM verifier");
            }
            boolean weakMatch = weakRoles.getOrDefault(r.name(), false);
            if (weakMatch) {
                String kind = v.kind() == PasswordVerifier.Kind.MD5 ? "md5" : "SCRAM-SHA-256";
                out.add(Rule.PASSWORD_WEAK, r.login() ? Severity.CRITICAL : Severity.WARNING, r.name(),
                        "the stored " + kind + " verifier matches a password from " + weak.source()
                                + " (defaults, easy passwords, the role's own name); tested offline, the password is not shown"
                                + (r.login() ? "" : "; the role is NOLOGIN today"),
                        "anyone who tries the usual defaults gets in as this role" + (r.superuser() ? ", and it is a superuser" : ""),
                        "set a long random password now: \\password " + q + " (and update the application's secret store)");
            }
        }
    }
}
