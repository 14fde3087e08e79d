package dev.chronodr.audit;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import dev.chronodr.pg.PgVersion;

/**
 * pg_hba.conf as the server parses it (pg_hba_file_rules, which reads the file on disk
 * now, so it shows what the next reload will load) and password_encryption.
 */
final class AuthenticationCheck implements AuditCheck {
    private static final Pattern IPV4 = Pattern.compile("^\\d{1,3}(\\.\\d{1,3}){3}$");

    /** One line of pg_hba.conf as pg_hba_file_rules returns it. */
    record HbaRule(String file, int line, String type, List<String> databases, List<String> users, String address,
                   String netmask, String method, List<String> options, String error) {

        boolean tcp() {
            return type != null && type.startsWith("host");
        }

        /** Unix socket, or a TCP rule whose addresses are all loopback. */
        boolean localOnly() {
            if (!tcp()) {
                return true;
            }
            if (address == null) {
                return false;
            }
            if (address.equals("samehost") || address.equals("localhost")) {
                return true;
            }
            InetAddress a = literal(address);
            if (a == null) {
                return false;
            }
            int prefix = prefixLength();
            if (a.getAddress().length == 4) {
                return (a.getAddress()[0] & 0xff) == 127 && prefix >= 8;
            }
            return a.isLoopbackAddress() && prefix == 128;
        }

        /** all, 0.0.0.0/0 or ::/0. */
        boolean anyAddress() {
            if (!tcp() || address == null) {
                return false;
            }
            if (address.equals("all")) {
                return true;
            }
            InetAddress a = literal(address);
            return a != null && a.isAnyLocalAddress() && prefixLength() == 0;
        }

        int prefixLength() {
            InetAddress a = literal(address);
            if (a == null) {
                return -1;
            }
            if (netmask == null) {
                return a.getAddress().length * 8;
            }
            InetAddress m = literal(netmask);
            if (m == null) {
                return -1;
            }
            int bits = 0;
            for (byte b : m.getAddress()) {
                bits += Integer.bitCount(b & 0xff);
            }
            return bits;
        }

        String where() {
            return file + ":" + line;
        }

        /** The rule written back as a pg_hba.conf line, for evidence. */
        String text() {
            if (error != null) {
                return "(unparsable line)";
            }
            StringBuilder b = new StringBuilder(type).append(' ').append(String.join(",", databases))
                    .append(' ').append(String.join(",", users));
            if (address != null) {
                b.append(' ').append(address);
                if (netmask != null && prefixLength() >= 0) {
                    b.append('/').append(prefixLength());
                }
            }
            b.append(' ').append(method);
            if (!options.isEmpty()) {
                b.append(' ').append(String.join(" ", options));
            }
            return b.toString();
        }
    }

    @Override
    public String id() {
        return "authentication";
    }

    @Override
    public String title() {
        return "Authentication: pg_hba.conf rules and password_encryption";
    }

    @Override
    public boolean essential() {
        return true;
    }

    @Override
    public void run(AuditContext ctx, CheckLog log) throws SQLException {
        ctx.setting("password_encryption").ifPresent(enc -> {
            if (!enc.equals("scram-sha-256")) {
                log.add(Rule.AUTH_PASSWORD_ENCRYPTION, "password_encryption", "password_encryption = " + enc,
                        "every password set from now on is stored as an md5 verifier, which is enough to log in with md5 authentication",
                        "ALTER SYSTEM SET password_encryption = 'scram-sha-256'; SELECT pg_reload_conf(); then reset each password");
            }
        });

        List<HbaRule> rules;
        try {
            rules = load(ctx);
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                log.skip("pg_hba_file_rules is readable only by superusers (or roles granted EXECUTE on pg_hba_file_rules()); "
                                + "connected as " + ctx.server().currentUser() + ", so the authentication rules were not audited",
                        true, Rule.AUTH_TRUST, Rule.AUTH_PASSWORD, Rule.AUTH_MD5, Rule.AUTH_IDENT_TCP, Rule.AUTH_OPEN_TO_ALL,
                        Rule.AUTH_SUPERUSER_REMOTE, Rule.AUTH_HBA_ERROR);
                return;
            }
            throw e;
        }
        List<String> superusers = ctx.roles().all().stream().filter(RoleCatalog.Role::superuser).map(RoleCatalog.Role::name).toList();
        for (HbaRule r : rules) {
            evaluate(r, ctx.roles(), superusers, log);
        }
    }

    static void evaluate(HbaRule r, RoleCatalog roles, List<String> superusers, CheckLog log) {
        if (r.error() != null) {
            log.add(Rule.AUTH_HBA_ERROR, r.where(), "line " + r.line() + ": " + r.error(),
                    "the server keeps the rules it loaded last while the file has an error, so the file and the running "
                            + "rules differ; a restart with this file fails and the database stays down",
                    "fix or remove the line, then SELECT pg_reload_conf(); and check pg_hba_file_rules shows no error");
            return;
        }
        String method = r.method();
        if (method.equals("reject")) {
            return;
        }
        String from = r.tcp() ? (r.localOnly() ? "loopback TCP" : "the network") : "the Unix socket";
        switch (method) {
            case "trust" -> log.add(Rule.AUTH_TRUST, r.tcp() && !r.localOnly() ? Severity.CRITICAL : Severity.WARNING, r.where(), r.text(),
                    "trust lets anyone who reaches the server over " + from + " log in as any matching role, superusers included, with no password",
                    "replace trust with scram-sha-256 (or peer for local lines), then SELECT pg_reload_conf();");
            case "password" -> log.add(Rule.AUTH_PASSWORD,
                    (r.type().equals("host") || r.type().equals("hostnossl")) && !r.localOnly() ? Severity.CRITICAL : Severity.WARNING,
                    r.where(), r.text(),
                    "password sends the password in clear text" + (r.type().equals("hostssl") ? " inside TLS" : " over the connection"),
                    "replace password with scram-sha-256, then SELECT pg_reload_conf();");
            case "md5" -> log.add(Rule.AUTH_MD5, r.where(), r.text(),
                    "md5 accepts md5 verifiers, which are enough to log in (pass-the-hash); md5 is deprecated since PostgreSQL 18",
                    "replace md5 with scram-sha-256 once every password is stored as SCRAM, then SELECT pg_reload_conf();");
            case "ident" -> {
                if (r.tcp()) {
                    log.add(Rule.AUTH_IDENT_TCP, r.where(), r.text(),
                            "ident over TCP believes the user name the client machine's identd reports; any host you do not control can lie",
                            "use scram-sha-256 (or cert) for TCP lines; keep ident/peer for the Unix socket only");
                }
            }
            default -> {
                // scram-sha-256, peer, cert, gss, sspi, ldap, radius, pam, bsd: acceptable methods.
            }
        }
        if (r.anyAddress() && r.databases().equals(List.of("all")) && r.users().equals(List.of("all"))) {
            log.add(Rule.AUTH_OPEN_TO_ALL, r.where(), r.text(),
                    "every role may try every database from any address; only the password stands between the internet and the data",
                    "narrow the address to the application's network (e.g. 10.0.0.0/24) and the users/databases to the ones that need it");
        }
        if (r.tcp() && !r.localOnly()) {
            List<String> reachable = superusers.stream().filter(s -> matchesUser(r.users(), s, roles)).toList();
            if (!reachable.isEmpty()) {
                log.add(Rule.AUTH_SUPERUSER_REMOTE, r.where(), r.text() + " (superusers matched: " + String.join(", ", reachable) + ")",
                        "a superuser reachable from the network turns one stolen password into full control of the server and its host",
                        "add 'host all " + String.join(",", reachable) + " 0.0.0.0/0 reject' (and ::/0) above this line, "
                                + "or list the application roles instead of all; superusers then connect locally");
            }
        }
    }

    /** Does the rule's user column match this role? all, the name, +group (membership) or a /regex (PG16). */
    static boolean matchesUser(List<String> users, String role, RoleCatalog roles) {
        for (String u : users) {
            if (u.equals("all") || u.equals(role)) {
                return true;
            }
            if (u.startsWith("+") && roles.isMemberOf(role, u.substring(1))) {
                return true;
            }
            if (u.startsWith("/")) {
                try {
                    if (Pattern.compile(u.substring(1)).matcher(role).find()) {
                        return true;
                    }
                } catch (PatternSyntaxException e) {
                    // not a pattern Java reads; leave it to the rule-by-rule review
                }
            }
        }
        return false;
    }

    private static List<HbaRule> load(AuditContext ctx) throws SQLException {
        PgVersion v = ctx.server().version();
        // PostgreSQL 16 added file_name and rule_number (include files); before that there is one file,
        // whose path pg_settings shows only to roles that may read it (current_setting() would raise).
        String sql = v.major() >= 16
                ? """
                  SELECT file_name, line_number, type, database, user_name, address, netmask, auth_method, options, error
                  FROM pg_hba_file_rules ORDER BY file_name, line_number
                  """
                : """
                  SELECT (SELECT setting FROM pg_settings WHERE name = 'hba_file'), line_number, type, database, user_name, address, netmask, auth_method, options, error
                  FROM pg_hba_file_rules ORDER BY line_number
                  """;
        List<HbaRule> rules = new ArrayList<>();
        try (Statement st = ctx.connection().createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                String file = rs.getString(1);
                rules.add(new HbaRule(file == null ? "pg_hba.conf" : Path.of(file).getFileName().toString(), rs.getInt(2),
                        rs.getString(3), list(rs.getArray(4)), list(rs.getArray(5)), rs.getString(6), rs.getString(7),
                        rs.getString(8), list(rs.getArray(9)), rs.getString(10)));
            }
        }
        return rules;
    }

    private static List<String> list(Array a) throws SQLException {
        if (a == null) {
            return List.of();
        }
        return Arrays.stream((Object[]) a.getArray()).map(String::valueOf).toList();
    }

    /** An IP literal, never a DNS lookup: the audit must not depend on (or leak to) name resolution. */
    static InetAddress literal(String s) {
        if (s == null || !(IPV4.matcher(s).matches() || s.contains(":"))) {
            return null;
        }
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
