package dev.chronodr.pg;

import java.net.ConnectException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;

/**
 * JDBC access. One-shot commands take a plain connection; commands that work in
 * parallel ({@code --jobs}) take a small pool. Connection failures become a
 * {@link ChronoException} that names host and port and says what to check.
 */
public final class Database {
    private static final int CONNECT_TIMEOUT_SECONDS = 10;

    private Database() {
    }

    public static Connection connect(ConnectionSettings settings) {
        try {
            return DriverManager.getConnection(settings.jdbcUrl(), properties(settings));
        } catch (SQLException e) {
            throw connectionFailure(settings, e);
        }
    }

    /** A bounded pool for parallel work; the caller closes it. */
    public static HikariDataSource pool(ConnectionSettings settings, int size, String name) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(settings.jdbcUrl());
        config.setDataSourceProperties(properties(settings));
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(0);
        config.setPoolName(name);
        config.setInitializationFailTimeout(-1);
        config.setConnectionTimeout(CONNECT_TIMEOUT_SECONDS * 1000L);
        return new HikariDataSource(config);
    }

    static Properties properties(ConnectionSettings settings) {
        Properties p = new Properties();
        p.setProperty("user", settings.user());
        if (settings.password() != null) {
            p.setProperty("password", settings.password().reveal());
        }
        if (settings.sslmode() != null) {
            p.setProperty("sslmode", settings.sslmode());
        }
        p.setProperty("ApplicationName", "chrono-dr");
        p.setProperty("connectTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS));
        p.setProperty("loginTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS));
        p.setProperty("assumeMinServerVersion", "12");
        return p;
    }

    /** Turns a failed connect into one line with a cause and a hint. */
    public static ChronoException connectionFailure(ConnectionSettings s, SQLException e) {
        String where = s.host() + ":" + s.port();
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        Throwable root = rootCause(e);
        String msg = e.getMessage() == null ? "" : e.getMessage();
        if (state.equals("28P01") || msg.contains("password authentication failed")) {
            return new ChronoException(ExitCode.CRITICAL,
                    "password authentication failed for user \"" + s.user() + "\" at " + where,
                    "check PGPASSWORD, --password-file, the config's password_file or ~/.pgpass", e);
        }
        if (msg.contains("no password was provided") || msg.contains("password-based authentication")) {
            return new ChronoException(ExitCode.CRITICAL,
                    "the server at " + where + " asks for a password and none was given",
                    "set PGPASSWORD, pass --password-file FILE, or add a line to ~/.pgpass", e);
        }
        if (msg.contains("pg_hba.conf")) {
            return new ChronoException(ExitCode.CRITICAL,
                    "the server at " + where + " has no pg_hba.conf entry for user \"" + s.user() + "\" and database \"" + s.dbname() + "\"",
                    "add a host line for this client to pg_hba.conf and reload, or check --sslmode", e);
        }
        if (state.equals("3D000")) {
            return new ChronoException(ExitCode.CRITICAL,
                    "database \"" + s.dbname() + "\" does not exist at " + where,
                    "check -d/--dbname or the target's dbname", e);
        }
        if (msg.contains("SSL")) {
            return new ChronoException(ExitCode.CRITICAL,
                    "SSL negotiation with " + where + " failed: " + firstLine(msg),
                    "set --sslmode (or PGSSLMODE) to what the server supports", e);
        }
        if (root instanceof UnknownHostException) {
            return new ChronoException(ExitCode.CRITICAL, "unknown host \"" + s.host() + "\"",
                    "check -h/--host or PGHOST", e);
        }
        if (root instanceof ConnectException || state.startsWith("08")) {
            return new ChronoException(ExitCode.CRITICAL,
                    "cannot connect to PostgreSQL at " + where + ": " + firstLine(root.getMessage() == null ? msg : root.getMessage()),
                    "is the server running and accepting TCP connections on that host and port?", e);
        }
        return new ChronoException(ExitCode.CRITICAL,
                "cannot connect to " + s.describe() + ": " + firstLine(msg), null, e);
    }

    private static Throwable rootCause(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return r;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return (nl >= 0 ? s.substring(0, nl) : s).strip();
    }
}
