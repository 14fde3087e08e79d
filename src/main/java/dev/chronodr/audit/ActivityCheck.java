package dev.chronodr.audit;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** The runbook's "suspicious connections": one user from one address holding many sessions. */
final class ActivityCheck implements AuditCheck {
    private static final String QUERY = """
            SELECT usename, host(client_addr), count(*) AS sessions,
                   count(*) FILTER (WHERE state = 'idle') AS idle
            FROM pg_stat_activity
            WHERE backend_type = 'client backend'
            GROUP BY 1, 2
            HAVING count(*) > ?
            ORDER BY 3 DESC, 1, 2
            """;

    @Override
    public String id() {
        return "activity";
    }

    @Override
    public String title() {
        return "Activity: clients holding many connections";
    }

    @Override
    public boolean essential() {
        return false;
    }

    @Override
    public void run(AuditContext ctx, CheckLog log) throws SQLException {
        int threshold = ctx.config().clientConnectionThreshold();
        boolean seesAll = ctx.server().superuser() || ctx.roles().isMemberOf(ctx.server().currentUser(), "pg_read_all_stats");
        if (!seesAll) {
            log.skip("client addresses of other roles' sessions are hidden from " + ctx.server().currentUser()
                    + " (needs pg_read_all_stats); their sessions are counted without an address", false, Rule.ACTIVITY_CLIENT_CONNECTIONS);
        }
        try (PreparedStatement ps = ctx.connection().prepareStatement(QUERY)) {
            ps.setInt(1, threshold);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String user = rs.getString(1);
                    String addr = rs.getString(2);
                    long sessions = rs.getLong(3);
                    long idle = rs.getLong(4);
                    String from = addr == null ? (seesAll ? "the Unix socket" : "an address hidden from this role") : addr;
                    log.add(Rule.ACTIVITY_CLIENT_CONNECTIONS, user + "@" + (addr == null ? "local" : addr),
                            sessions + " sessions of " + user + " from " + from + " (" + idle + " idle); threshold " + threshold,
                            "one client holding many sessions is a connection leak, a missing pooler, or someone working the server; "
                                    + "it eats the slots that backups and on-call need",
                            "find it: SELECT pid, application_name, state, backend_start FROM pg_stat_activity WHERE usename = '"
                                    + user.replace("'", "''") + "'; fix the pool size, or set a CONNECTION LIMIT on the role");
                }
            }
        }
    }
}
