package dev.chronodr.pgbouncer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonProperty;

import dev.chronodr.config.ChronoConfig;
import dev.chronodr.config.Target;

/**
 * A target's {@code pgbouncer:} section: how {@code pgbouncer config} writes PgBouncer's files
 * (the pool settings default to the runbook's), how monitor and restore reach its admin
 * console, and whether restore pauses it around the swap. Every key is optional.
 * <pre>
 * pgbouncer:
 *   host: 127.0.0.1            # where PgBouncer listens, for monitor and restore (default: the target's host)
 *   listen_addr: "*"
 *   listen_port: 6432
 *   database: chrono_scraper   # the name clients use (default: the target's dbname)
 *   server_host: postgres      # how PgBouncer reaches PostgreSQL (default: the target's host and port)
 *   server_port: 5432
 *   pool_mode: transaction
 *   default_pool_size: 25
 *   users: [chrono_scraper]    # roles whose SCRAM verifiers go into userlist.txt (default: the target's user)
 *   admin_user: chrono_dr_admin
 *   admin_password_file: ~/.config/chrono-dr/pgbouncer-admin.password
 *   pause_on_restore: true
 * </pre>
 */
public final class PgBouncerSection {
    public static final int DEFAULT_LISTEN_PORT = 6432;
    public static final int DEFAULT_PAUSE_TIMEOUT_SECONDS = 30;
    public static final int DEFAULT_CONNECT_TIMEOUT_SECONDS = 5;

    public String host;
    @JsonProperty("listen_addr")
    public String listenAddr;
    @JsonProperty("listen_port")
    public Integer listenPort;
    @JsonProperty("unix_socket_dir")
    public String unixSocketDir;
    public String database;
    @JsonProperty("server_host")
    public String serverHost;
    @JsonProperty("server_port")
    public Integer serverPort;

    // The runbook's pool settings are the defaults.
    @JsonProperty("pool_mode")
    public String poolMode = "transaction";
    @JsonProperty("max_client_conn")
    public Integer maxClientConn = 200;
    @JsonProperty("default_pool_size")
    public Integer defaultPoolSize = 25;
    @JsonProperty("min_pool_size")
    public Integer minPoolSize;
    @JsonProperty("reserve_pool_size")
    public Integer reservePoolSize;
    @JsonProperty("reserve_pool_timeout")
    public Integer reservePoolTimeout;
    @JsonProperty("max_db_connections")
    public Integer maxDbConnections = 50;
    @JsonProperty("max_user_connections")
    public Integer maxUserConnections = 50;
    @JsonProperty("server_reset_query")
    public String serverResetQuery = "DISCARD ALL";
    @JsonProperty("server_check_delay")
    public Integer serverCheckDelay = 30;
    @JsonProperty("server_check_query")
    public String serverCheckQuery = "SELECT 1";

    @JsonProperty("auth_type")
    public String authType = "scram-sha-256";
    /** Where pgbouncer.ini says the user list is (the path on PgBouncer's host). */
    @JsonProperty("auth_file")
    public String authFile = "/etc/pgbouncer/userlist.txt";
    public List<String> users;
    @JsonProperty("auth_user")
    public String authUser = "pgbouncer_auth";
    @JsonProperty("auth_password_file")
    public String authPasswordFile;

    @JsonProperty("admin_user")
    public String adminUser;
    @JsonProperty("admin_password_file")
    public String adminPasswordFile;

    @JsonProperty("pause_on_restore")
    public boolean pauseOnRestore;
    @JsonProperty("pause_timeout_seconds")
    public Integer pauseTimeoutSeconds;
    @JsonProperty("connect_timeout_seconds")
    public Integer connectTimeoutSeconds;

    /** More [pgbouncer] settings, written as given (logfile, pidfile, ...). */
    public Map<String, String> settings = new LinkedHashMap<>();

    /** The section, or null when the target has none. */
    public static PgBouncerSection of(Target target) {
        return target == null ? null : ChronoConfig.section(target.config(), "pgbouncer", PgBouncerSection.class).orElse(null);
    }

    public int listenPort() {
        return listenPort != null ? listenPort : DEFAULT_LISTEN_PORT;
    }

    public String database(Target target) {
        return database != null ? database : target.connection().dbname();
    }

    public String host(Target target) {
        return host != null ? host : target.connection().host();
    }

    public int pauseTimeoutSeconds() {
        return pauseTimeoutSeconds != null && pauseTimeoutSeconds > 0 ? pauseTimeoutSeconds : DEFAULT_PAUSE_TIMEOUT_SECONDS;
    }

    public int connectTimeoutSeconds() {
        return connectTimeoutSeconds != null && connectTimeoutSeconds > 0 ? connectTimeoutSeconds : DEFAULT_CONNECT_TIMEOUT_SECONDS;
    }

    public boolean hasAdmin() {
        return adminUser != null && !adminUser.isBlank();
    }
}
