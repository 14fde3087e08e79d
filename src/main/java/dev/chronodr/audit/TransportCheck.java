package dev.chronodr.audit;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** ssl, ssl_min_protocol_version and listen_addresses. */
final class TransportCheck implements AuditCheck {
    private static final Set<String> OLD_TLS = Set.of("", "TLSv1", "TLSv1.1");

    @Override
    public String id() {
        return "transport";
    }

    @Override
    public String title() {
        return "Transport and exposure: TLS and listen_addresses";
    }

    @Override
    public boolean essential() {
        return false;
    }

    @Override
    public void run(AuditContext ctx, CheckLog log) {
        Optional<String> listen = ctx.setting("listen_addresses");
        // Unknown listen addresses count as exposed: the audit must not assume the safe case.
        boolean exposed = listen.map(TransportCheck::beyondLoopback).orElse(true);
        if (listen.isEmpty()) {
            log.skip("listen_addresses is not visible to " + ctx.server().currentUser(), false, Rule.NET_LISTEN_ALL);
        } else if (listensEverywhere(listen.get())) {
            log.add(Rule.NET_LISTEN_ALL, "listen_addresses", "listen_addresses = '" + listen.get() + "'",
                    "the server accepts TCP on every interface, so pg_hba.conf and the firewall are all that stand in the way"
                            + " (in a container this is normal; then what matters is which host ports publish it)",
                    "ALTER SYSTEM SET listen_addresses = 'localhost,<the interface the application uses>'; then restart");
        }

        Optional<String> ssl = ctx.setting("ssl");
        if (ssl.isEmpty()) {
            log.skip("ssl is not visible to " + ctx.server().currentUser(), false, Rule.TLS_OFF, Rule.TLS_OLD_PROTOCOL);
            return;
        }
        if (ssl.get().equals("off")) {
            log.add(Rule.TLS_OFF, exposed ? Severity.WARNING : Severity.INFO, "ssl",
                    "ssl = off" + (exposed ? "" : "; the server listens on loopback only (" + listen.orElse("") + ")"),
                    exposed ? "every query and every row (and, under password rules, the password itself) crosses the network in clear text"
                            : "no TLS is acceptable while only local clients connect; it matters the day listen_addresses widens",
                    "install a certificate (ssl_cert_file, ssl_key_file), ALTER SYSTEM SET ssl = on; SELECT pg_reload_conf(); "
                            + "and use hostssl lines for remote clients");
            return;
        }
        ctx.setting("ssl_min_protocol_version").ifPresent(min -> {
            if (OLD_TLS.contains(min)) {
                log.add(Rule.TLS_OLD_PROTOCOL, "ssl_min_protocol_version",
                        "ssl_min_protocol_version = '" + min + "'" + (min.isEmpty() ? " (any version)" : ""),
                        "TLS 1.0 and 1.1 are broken and deprecated (RFC 8996); a client can be downgraded to them",
                        "ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.2'; SELECT pg_reload_conf();");
            }
        });
    }

    static List<String> addresses(String listen) {
        return Arrays.stream(listen.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    static boolean listensEverywhere(String listen) {
        return addresses(listen).stream().anyMatch(a -> a.equals("*") || a.equals("0.0.0.0") || a.equals("::"));
    }

    static boolean beyondLoopback(String listen) {
        return addresses(listen).stream().anyMatch(a -> !(a.equals("localhost") || a.equals("::1") || a.startsWith("127.")));
    }
}
