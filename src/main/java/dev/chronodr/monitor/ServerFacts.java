package dev.chronodr.monitor;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import dev.chronodr.pg.PgVersion;

/**
 * What the checks need to know before their SQL is built: version, role, privileges, the
 * settings they judge against, and whether pg_stat_statements is installed here. Read in
 * the first round trip, which also sets the session's statement_timeout so a stuck
 * catalog never hangs a cron job.
 *
 * @param readAllStats     member of pg_read_all_stats (pg_monitor has it): sees every session's details
 * @param readAllSettings  member of pg_read_all_settings (pg_monitor has it): sees data_directory
 * @param dataDirectory    null when the role may not see it
 * @param sharedPreloadLibraries null when the role may not see it
 * @param pgssVersion      pg_stat_statements' installed version in this database, or null
 */
public record ServerFacts(PgVersion version, String versionString, boolean inRecovery, String database, String user,
                          boolean superuser, boolean readAllStats, boolean readAllSettings, int backendPid, int port,
                          int maxConnections, int superuserReserved, int reserved, String dataDirectory,
                          String archiveMode, String sharedPreloadLibraries, String pgssVersion, String pgssSchema) {

    // pg_settings, not current_setting(): a row the role may not see is absent, where
    // current_setting() would fail the whole query. reserved_connections exists from 16 on.
    private static final String SQL = """
            SELECT current_setting('server_version_num')::int AS version_num,
                   current_setting('server_version') AS version,
                   pg_is_in_recovery() AS in_recovery,
                   current_database() AS database,
                   current_user::text AS role_name,
                   (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
                   pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats,
                   pg_has_role(current_user, 'pg_read_all_settings', 'USAGE') AS read_all_settings,
                   pg_backend_pid() AS backend_pid,
                   current_setting('port')::int AS port,
                   s.max_connections, s.superuser_reserved, s.reserved, s.data_directory, s.archive_mode,
                   s.shared_preload_libraries,
                   e.extversion AS pgss_version, e.nspname AS pgss_schema,
                   set_config('statement_timeout', '10s', false) AS statement_timeout
            FROM (SELECT max(setting) FILTER (WHERE name = 'max_connections')::int AS max_connections,
                         max(setting) FILTER (WHERE name = 'superuser_reserved_connections')::int AS superuser_reserved,
                         coalesce(max(setting) FILTER (WHERE name = 'reserved_connections')::int, 0) AS reserved,
                         max(setting) FILTER (WHERE name = 'data_directory') AS data_directory,
                         max(setting) FILTER (WHERE name = 'archive_mode') AS archive_mode,
                         max(setting) FILTER (WHERE name = 'shared_preload_libraries') AS shared_preload_libraries
                  FROM pg_settings
                  WHERE name IN ('max_connections', 'superuser_reserved_connections', 'reserved_connections',
                                 'data_directory', 'archive_mode', 'shared_preload_libraries')) s
            LEFT JOIN (SELECT x.extversion, n.nspname
                       FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
                       WHERE x.extname = 'pg_stat_statements') e ON true
            """;

    public static ServerFacts probe(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(SQL)) {
            rs.next();
            return new ServerFacts(new PgVersion(rs.getInt("version_num")), rs.getString("version"),
                    rs.getBoolean("in_recovery"), rs.getString("database"), rs.getString("role_name"),
                    rs.getBoolean("superuser"), rs.getBoolean("read_all_stats"), rs.getBoolean("read_all_settings"),
                    rs.getInt("backend_pid"), rs.getInt("port"), rs.getInt("max_connections"),
                    rs.getInt("superuser_reserved"), rs.getInt("reserved"), rs.getString("data_directory"),
                    rs.getString("archive_mode"), rs.getString("shared_preload_libraries"),
                    rs.getString("pgss_version"), rs.getString("pgss_schema"));
        }
    }

    public int versionNum() {
        return version.num();
    }

    public String role() {
        return inRecovery ? "standby" : "primary";
    }

    /** Connections the application can use: max_connections less the slots kept for superusers (and, 16+, for pg_use_reserved_connections). */
    public int usableConnections() {
        return Math.max(1, maxConnections - superuserReserved - reserved);
    }
}
