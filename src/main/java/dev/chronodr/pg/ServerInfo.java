package dev.chronodr.pg;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** What a command needs to know about the server before it acts. */
public record ServerInfo(PgVersion version, String versionString, boolean inRecovery, String database,
                         long databaseSizeBytes, boolean superuser, String currentUser, boolean dataChecksums) {

    private static final String QUERY = """
            SELECT current_setting('server_version_num')::int,
                   current_setting('server_version'),
                   pg_is_in_recovery(),
                   current_database(),
                   pg_database_size(current_database()),
                   (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
                   current_user,
                   current_setting('data_checksums') = 'on'
            """;

    public static ServerInfo probe(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(QUERY)) {
            rs.next();
            return new ServerInfo(new PgVersion(rs.getInt(1)), rs.getString(2), rs.getBoolean(3), rs.getString(4),
                    rs.getLong(5), rs.getBoolean(6), rs.getString(7), rs.getBoolean(8));
        }
    }

    public String role() {
        return inRecovery ? "standby" : "primary";
    }
}
