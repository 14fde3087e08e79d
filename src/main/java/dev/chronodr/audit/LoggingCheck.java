package dev.chronodr.audit;

import java.util.Optional;

/** The settings an audit trail and a recovery need: connection logging, checksums, WAL archiving. */
final class LoggingCheck implements AuditCheck {
    @Override
    public String id() {
        return "logging";
    }

    @Override
    public String title() {
        return "Logging and durability: connection logs, data checksums, WAL archiving";
    }

    @Override
    public boolean essential() {
        return false;
    }

    @Override
    public void run(AuditContext ctx, CheckLog log) {
        // PostgreSQL 18 turned log_connections into a list of aspects; '' there means off.
        setting(ctx, log, "log_connections", Rule.LOG_CONNECTIONS).ifPresent(v -> {
            if (v.equals("off") || v.isEmpty()) {
                log.add(Rule.LOG_CONNECTIONS, "log_connections", "log_connections = " + (v.isEmpty() ? "''" : v),
                        "without it the server log cannot say who connected from where, so a break-in leaves no trail",
                        "ALTER SYSTEM SET log_connections = on; SELECT pg_reload_conf();");
            }
        });
        setting(ctx, log, "log_disconnections", Rule.LOG_DISCONNECTIONS).ifPresent(v -> {
            if (v.equals("off")) {
                log.add(Rule.LOG_DISCONNECTIONS, "log_disconnections", "log_disconnections = off",
                        "without it the log does not show how long each session lasted, which an incident timeline needs",
                        "ALTER SYSTEM SET log_disconnections = on; SELECT pg_reload_conf();");
            }
        });
        setting(ctx, log, "data_checksums", Rule.DATA_CHECKSUMS).ifPresent(v -> {
            if (v.equals("off")) {
                log.add(Rule.DATA_CHECKSUMS, "data_checksums", "data_checksums = off",
                        "without checksums a corrupted page is read as good data, and backups copy the corruption silently",
                        "stop the server and run pg_checksums --enable -D <data directory> (PostgreSQL 12+), or initdb --data-checksums a new cluster");
            }
        });
        setting(ctx, log, "archive_mode", Rule.ARCHIVE_MODE).ifPresent(v -> {
            if (v.equals("off")) {
                log.add(Rule.ARCHIVE_MODE, "archive_mode", "archive_mode = off",
                        "without WAL archiving there is no point-in-time recovery: the most you can restore is the last full backup, "
                                + "far outside the runbook's 15-minute RPO",
                        "ALTER SYSTEM SET archive_mode = on; set archive_command (or archive_library) to ship WAL to the backup repository; restart");
            }
        });
    }

    private static Optional<String> setting(AuditContext ctx, CheckLog log, String name, Rule rule) {
        Optional<String> v = ctx.setting(name);
        if (v.isEmpty()) {
            log.skip(name + " is not visible to " + ctx.server().currentUser(), false, rule);
        }
        return v;
    }
}
