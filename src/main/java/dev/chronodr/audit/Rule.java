package dev.chronodr.audit;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * Every rule the audit evaluates, with its stable id (what --ignore and the config's
 * ignore list name), the check that evaluates it and its usual severity. A few rules
 * raise or lower the severity per finding (e.g. trust from anywhere vs. from loopback).
 */
public enum Rule {
    ROLE_EXTRA_SUPERUSER("roles", Severity.CRITICAL, "a superuser (or a role that can SET ROLE to one) beyond the expected ones"),
    ROLE_NO_PASSWORD_EXPIRY("roles", Severity.WARNING, "a login role whose password never expires"),
    ROLE_NO_CONNLIMIT("roles", Severity.WARNING, "no connection limit on a role the matrix gives a limit"),

    ROLE_NO_PASSWORD("passwords", Severity.WARNING, "a login role with no password"),
    PASSWORD_WEAK("passwords", Severity.CRITICAL, "a stored password verifier matches a default or easy password"),
    PASSWORD_MD5("passwords", Severity.WARNING, "a password stored as an md5 verifier"),

    AUTH_TRUST("authentication", Severity.CRITICAL, "a pg_hba.conf rule with trust"),
    AUTH_PASSWORD("authentication", Severity.CRITICAL, "a pg_hba.conf rule with cleartext password"),
    AUTH_MD5("authentication", Severity.WARNING, "a pg_hba.conf rule with md5"),
    AUTH_IDENT_TCP("authentication", Severity.WARNING, "a pg_hba.conf rule with ident over TCP"),
    AUTH_OPEN_TO_ALL("authentication", Severity.WARNING, "a pg_hba.conf rule for all users and databases from any address"),
    AUTH_SUPERUSER_REMOTE("authentication", Severity.WARNING, "a superuser can connect from a non-local address"),
    AUTH_HBA_ERROR("authentication", Severity.CRITICAL, "a pg_hba.conf line the server cannot parse"),
    AUTH_PASSWORD_ENCRYPTION("authentication", Severity.WARNING, "password_encryption is not scram-sha-256"),

    TLS_OFF("transport", Severity.WARNING, "ssl is off"),
    TLS_OLD_PROTOCOL("transport", Severity.WARNING, "ssl_min_protocol_version allows TLS older than 1.2"),
    NET_LISTEN_ALL("transport", Severity.WARNING, "listen_addresses is every interface"),

    PRIV_PUBLIC_CREATE("privileges", Severity.WARNING, "PUBLIC may CREATE in a schema"),
    PRIV_APP_OWNS("privileges", Severity.WARNING, "the application role owns objects it should not"),
    PRIV_SECDEF_SEARCH_PATH("privileges", Severity.CRITICAL, "PUBLIC may execute a SECURITY DEFINER function without a pinned search_path"),

    ACTIVITY_CLIENT_CONNECTIONS("activity", Severity.WARNING, "a client holds more connections than the threshold"),

    LOG_CONNECTIONS("logging", Severity.WARNING, "log_connections is off"),
    LOG_DISCONNECTIONS("logging", Severity.WARNING, "log_disconnections is off"),
    DATA_CHECKSUMS("logging", Severity.WARNING, "data checksums are off"),
    ARCHIVE_MODE("logging", Severity.WARNING, "WAL archiving is off"),

    MATRIX_NOT_CONFIGURED("matrix", Severity.INFO, "no User Management Matrix in the config"),
    MATRIX_ROLE_MISSING("matrix", Severity.WARNING, "a role of the matrix does not exist"),
    MATRIX_ROLE_UNDECLARED("matrix", Severity.WARNING, "a role exists that the matrix does not declare"),
    MATRIX_ATTRIBUTE("matrix", Severity.WARNING, "a role attribute differs from the matrix"),
    MATRIX_CONNECTION_LIMIT("matrix", Severity.WARNING, "a connection limit differs from the matrix"),
    MATRIX_MEMBERSHIP_MISSING("matrix", Severity.WARNING, "a membership of the matrix is missing"),
    MATRIX_MEMBERSHIP_EXTRA("matrix", Severity.WARNING, "a membership the matrix does not declare"),
    MATRIX_PRIVILEGE_MISSING("matrix", Severity.WARNING, "a privilege of the matrix is missing"),
    MATRIX_PRIVILEGE_EXTRA("matrix", Severity.WARNING, "a privilege granted beyond the matrix"),
    MATRIX_SCHEMA_MISSING("matrix", Severity.WARNING, "a schema the matrix names does not exist");

    private final String check;
    private final Severity severity;
    private final String title;

    Rule(String check, Severity severity, String title) {
        this.check = check;
        this.severity = severity;
        this.title = title;
    }

    /** ROLE_EXTRA_SUPERUSER -> ROLE-EXTRA-SUPERUSER. */
    public String id() {
        return name().replace('_', '-');
    }

    public String check() {
        return check;
    }

    public Severity severity() {
        return severity;
    }

    public String title() {
        return title;
    }

    public static Optional<Rule> byId(String id) {
        String wanted = id.trim().toUpperCase(Locale.ROOT);
        return Arrays.stream(values()).filter(r -> r.id().equals(wanted)).findFirst();
    }
}
