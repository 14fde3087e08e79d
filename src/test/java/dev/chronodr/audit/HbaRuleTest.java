package dev.chronodr.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** How pg_hba.conf lines are judged, without a server: severity depends on where from. */
class HbaRuleTest {
    private static final RoleCatalog ROLES = catalog();

    private static RoleCatalog catalog() {
        Map<String, RoleCatalog.Role> roles = new LinkedHashMap<>();
        roles.put("postgres", new RoleCatalog.Role(10, "postgres", true, true, true, true, true, true, true, -1, false, false, null));
        roles.put("ops", new RoleCatalog.Role(20000, "ops", false, true, false, false, false, false, false, -1, false, false, null));
        roles.put("app", new RoleCatalog.Role(20001, "app", false, true, false, false, true, false, false, -1, false, false, null));
        return new RoleCatalog(roles, List.of(new RoleCatalog.Membership("postgres", "ops", true)));
    }

    static AuthenticationCheck.HbaRule rule(int line, String type, String users, String address, String netmask, String method) {
        return new AuthenticationCheck.HbaRule("pg_hba.conf", line, type, List.of("all"), List.of(users.split(",")), address, netmask,
                method, List.of(), null);
    }

    static List<Finding> judge(AuthenticationCheck.HbaRule r) {
        CheckLog log = new CheckLog("authentication");
        AuthenticationCheck.evaluate(r, ROLES, List.of("postgres"), log);
        return log.findings();
    }

    static Finding only(List<Finding> findings, String id) {
        List<Finding> f = findings.stream().filter(x -> x.id().equals(id)).toList();
        assertEquals(1, f.size(), id + " in " + findings);
        return f.get(0);
    }

    @Test
    void trustIsCriticalFromTheNetworkAndAWarningLocally() {
        List<Finding> any = judge(rule(100, "host", "all", "0.0.0.0", "0.0.0.0", "trust"));
        assertEquals(Severity.CRITICAL, only(any, "AUTH-TRUST").severity());
        assertEquals("host all all 0.0.0.0/0 trust", only(any, "AUTH-TRUST").evidence());
        assertEquals("pg_hba.conf:100", only(any, "AUTH-TRUST").object());
        only(any, "AUTH-OPEN-TO-ALL");
        only(any, "AUTH-SUPERUSER-REMOTE");

        assertEquals(Severity.WARNING, only(judge(rule(1, "local", "all", null, null, "trust")), "AUTH-TRUST").severity());
        List<Finding> loop = judge(rule(2, "host", "all", "127.0.0.1", "255.255.255.255", "trust"));
        assertEquals(Severity.WARNING, only(loop, "AUTH-TRUST").severity());
        assertTrue(loop.stream().noneMatch(f -> f.id().equals("AUTH-SUPERUSER-REMOTE")));
        assertEquals(Severity.WARNING, only(judge(rule(3, "host", "all", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "trust")), "AUTH-TRUST").severity());
    }

    @Test
    void passwordMd5IdentAndAllAddresses() {
        assertEquals(Severity.CRITICAL, only(judge(rule(1, "host", "app", "10.0.0.0", "255.0.0.0", "password")), "AUTH-PASSWORD").severity());
        assertEquals(Severity.WARNING, only(judge(rule(1, "hostssl", "app", "10.0.0.0", "255.0.0.0", "password")), "AUTH-PASSWORD").severity());
        only(judge(rule(1, "host", "app", "10.0.0.0", "255.0.0.0", "md5")), "AUTH-MD5");
        only(judge(rule(1, "host", "app", "10.0.0.0", "255.0.0.0", "ident")), "AUTH-IDENT-TCP");
        assertTrue(judge(rule(1, "local", "app", null, null, "peer")).isEmpty());
        // "host all all all" (the postgres image's default) is open to all, and reaches the superuser.
        List<Finding> image = judge(rule(1, "host", "all", "all", null, "scram-sha-256"));
        only(image, "AUTH-OPEN-TO-ALL");
        only(image, "AUTH-SUPERUSER-REMOTE");
        assertTrue(judge(rule(1, "host", "all", "::", "::", "reject")).isEmpty());
        assertTrue(judge(rule(1, "host", "app", "192.0.2.0", "255.255.255.0", "scram-sha-256")).isEmpty());
    }

    @Test
    void superuserMatchesThroughGroupsAndRegex() {
        assertTrue(AuthenticationCheck.matchesUser(List.of("+ops"), "postgres", ROLES));
        assertFalse(AuthenticationCheck.matchesUser(List.of("+ops"), "app", ROLES));
        assertTrue(AuthenticationCheck.matchesUser(List.of("/^post"), "postgres", ROLES));
        assertFalse(AuthenticationCheck.matchesUser(List.of("app"), "postgres", ROLES));
        assertEquals(Severity.WARNING, only(judge(rule(1, "hostssl", "+ops", "198.51.100.0", "255.255.255.0", "scram-sha-256")),
                "AUTH-SUPERUSER-REMOTE").severity());
    }

    @Test
    void unparsableLinesAreCritical() {
        AuthenticationCheck.HbaRule broken = new AuthenticationCheck.HbaRule("pg_hba.conf", 7, null, List.of(), List.of(), null, null,
                null, List.of(), "invalid CIDR mask in address \"10.0.0.0/33\"");
        Finding f = only(judge(broken), "AUTH-HBA-ERROR");
        assertEquals(Severity.CRITICAL, f.severity());
        assertTrue(f.evidence().contains("invalid CIDR mask"));
    }
}
