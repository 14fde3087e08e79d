package dev.chronodr.pgbouncer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.config.PasswordSources;
import dev.chronodr.config.Target;
import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.Database;

/**
 * Writes pgbouncer.ini and userlist.txt for a target. The user list holds the SCRAM verifiers
 * the server keeps (PgBouncer checks clients against them and logs into the server with the
 * client's proof), read from pg_authid, which needs a superuser; never a password. Both files
 * are written 0600 and atomically, and only over files chrono-dr wrote unless forced.
 */
public final class ConfigService {
    private static final String VERIFIERS = "SELECT rolname, rolpassword FROM pg_catalog.pg_authid WHERE rolname = ANY (?)";

    public ConfigResult run(ConfigRequest req) {
        Target target = req.target();
        PgBouncerSection s = PgBouncerSection.of(target);
        if (s == null) {
            s = new PgBouncerSection();
        }
        Path dir = req.outDir().toAbsolutePath();
        Path ini = dir.resolve(PgBouncerFiles.INI);
        Path userlist = dir.resolve(PgBouncerFiles.USERLIST);
        // Both checked before either is written: a refusal leaves the directory as it was.
        for (Path p : List.of(ini, userlist)) {
            if (Files.exists(p) && !req.force() && !ours(p)) {
                throw ChronoException.usage("refusing to replace " + p + ": chrono-dr did not write it",
                        "move it aside, or pass --force to replace it");
            }
        }
        List<String> notes = new ArrayList<>();
        List<String> users = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        String database = s.database(target);
        String sql = null;

        List<String> wanted = new ArrayList<>();
        if (!req.authQuery()) {
            wanted.addAll(s.users != null && !s.users.isEmpty() ? s.users : List.of(target.connection().user()));
        }
        if (s.hasAdmin() && !wanted.contains(s.adminUser) && !(req.authQuery() && s.adminPasswordFile != null)) {
            wanted.add(s.adminUser);
        }
        Map<String, String> verifiers = wanted.isEmpty() ? Map.of() : verifiers(target, wanted);
        if (!req.authQuery()) {
            List<String> problems = new ArrayList<>();
            for (String u : s.users != null && !s.users.isEmpty() ? s.users : List.of(target.connection().user())) {
                String v = verifiers.get(u);
                if (!verifiers.containsKey(u)) {
                    problems.add("role " + u + " does not exist");
                } else if (!ScramVerifier.isScram(v)) {
                    problems.add("role " + u + (v == null ? " has no password" : " has an MD5 password, not SCRAM-SHA-256"));
                } else {
                    lines.add(PgBouncerFiles.userLine(u, v));
                    users.add(u);
                }
            }
            if (!problems.isEmpty()) {
                throw ChronoException.failed("cannot list every user for PgBouncer: " + String.join("; ", problems) + "; nothing written",
                        "set password_encryption = 'scram-sha-256' and set the password again (ALTER ROLE ... PASSWORD), or fix pgbouncer.users");
            }
        } else {
            sql = PgBouncerFiles.authQuerySql(s.authUser);
            if (s.authPasswordFile != null) {
                // PgBouncer logs into the server as auth_user on its own, with no client proof to pass on:
                // that takes the password itself (a SCRAM verifier only checks clients).
                Secret p = PasswordSources.secretFile(req.env().resolve(s.authPasswordFile), "auth_user password",
                        "check pgbouncer.auth_password_file");
                lines.add(PgBouncerFiles.userLine(s.authUser, p.reveal()));
                users.add(s.authUser);
                notes.add("auth_user " + s.authUser + " is in userlist.txt with its password in plain text: PgBouncer logs into the"
                        + " server as it before any client has authenticated, which a SCRAM verifier cannot do. No other user is listed.");
            } else {
                notes.add("userlist.txt has no entry for auth_user " + s.authUser + ": add its password there yourself, or set"
                        + " pgbouncer.auth_password_file; PgBouncer needs it to run auth_query");
            }
        }
        if (s.hasAdmin()) {
            String v = verifiers.get(s.adminUser);
            if (ScramVerifier.isScram(v)) {
                if (!users.contains(s.adminUser)) {
                    lines.add(PgBouncerFiles.userLine(s.adminUser, v));
                    users.add(s.adminUser);
                }
            } else if (s.adminPasswordFile != null) {
                Secret p = PasswordSources.secretFile(req.env().resolve(s.adminPasswordFile), "PgBouncer admin password",
                        "check pgbouncer.admin_password_file");
                lines.add(PgBouncerFiles.userLine(s.adminUser, ScramVerifier.of(p.reveal())));
                users.add(s.adminUser);
            } else {
                notes.add("admin_user " + s.adminUser + " has no SCRAM verifier on the server and no admin_password_file:"
                        + " it cannot log into the admin console");
            }
        }

        Map<String, String> settings = settings(s, req.authQuery());
        String iniText = PgBouncerFiles.ini(target.name(), database,
                s.serverHost != null ? s.serverHost : target.connection().host(),
                s.serverPort != null ? s.serverPort : target.connection().port(), target.connection().dbname(), settings);
        String listText = PgBouncerFiles.userList(target.name(), lines);
        List<String> written = new ArrayList<>();
        try {
            Files.createDirectories(dir);
            AtomicFile.write(userlist, listText.getBytes(StandardCharsets.UTF_8));
            written.add(userlist.toString());
            AtomicFile.write(ini, iniText.getBytes(StandardCharsets.UTF_8));
            written.add(ini.toString());
        } catch (IOException e) {
            throw ChronoException.failed("cannot write PgBouncer's files into " + dir + ": " + e.getMessage()
                    + (written.isEmpty() ? "" : " (written before that: " + String.join(", ", written) + ")"), null);
        }
        List<String> next = new ArrayList<>();
        next.add("copy both files where pgbouncer.ini's auth_file points (" + s.authFile + "), owned by the user PgBouncer runs as, mode 0600");
        if (sql != null) {
            next.add("run the SQL above as a superuser (the role, then the function in each database PgBouncer serves)");
        }
        next.add("reload PgBouncer (systemctl reload pgbouncer, or RELOAD; on its admin console)");
        next.add("point the applications at port " + s.listenPort() + " (database " + database + ")");
        return new ConfigResult(target.name(), dir.toString(), written, users, req.authQuery(), sql, notes, next);
    }

    private static Map<String, String> settings(PgBouncerSection s, boolean authQuery) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("listen_addr", s.listenAddr != null ? s.listenAddr : "*");
        m.put("listen_port", String.valueOf(s.listenPort()));
        if (s.unixSocketDir != null) {
            m.put("unix_socket_dir", s.unixSocketDir);
        }
        m.put("auth_type", s.authType);
        m.put("auth_file", s.authFile);
        if (authQuery) {
            m.put("auth_user", s.authUser);
            m.put("auth_query", PgBouncerFiles.AUTH_QUERY);
        }
        if (s.hasAdmin()) {
            m.put("admin_users", s.adminUser);
        }
        m.put("pool_mode", s.poolMode);
        put(m, "max_client_conn", s.maxClientConn);
        put(m, "default_pool_size", s.defaultPoolSize);
        put(m, "min_pool_size", s.minPoolSize);
        put(m, "reserve_pool_size", s.reservePoolSize);
        put(m, "reserve_pool_timeout", s.reservePoolTimeout);
        put(m, "max_db_connections", s.maxDbConnections);
        put(m, "max_user_connections", s.maxUserConnections);
        if (s.serverResetQuery != null) {
            m.put("server_reset_query", s.serverResetQuery);
        }
        put(m, "server_check_delay", s.serverCheckDelay);
        if (s.serverCheckQuery != null) {
            m.put("server_check_query", s.serverCheckQuery);
        }
        // The runbook's logging; JDBC clients send extra_float_digits, which PgBouncer refuses unless ignored.
        m.put("log_connections", "1");
        m.put("log_disconnections", "1");
        m.put("log_pooler_errors", "1");
        m.put("application_name_add_host", "1");
        m.put("ignore_startup_parameters", "extra_float_digits");
        if (s.settings != null) {
            m.putAll(s.settings);
        }
        return m;
    }

    private static void put(Map<String, String> m, String key, Integer value) {
        if (value != null) {
            m.put(key, String.valueOf(value));
        }
    }

    /** name -> rolpassword (null when the role has none) for the roles that exist. */
    private static Map<String, String> verifiers(Target target, List<String> roles) {
        Map<String, String> out = new LinkedHashMap<>();
        try (Connection c = Database.connect(target.connection());
             PreparedStatement ps = c.prepareStatement(VERIFIERS)) {
            ps.setArray(1, c.createArrayOf("text", roles.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getString(2));
                }
            }
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                throw ChronoException.failed("reading the users' SCRAM verifiers (pg_authid) needs a superuser, and "
                                + target.connection().user() + " is not one; nothing written",
                        "run it as a superuser (-U postgres), or pass --auth-query to have PgBouncer look users up through a function");
            }
            throw ChronoException.failed("cannot read the users' verifiers: " + e.getMessage(), null);
        }
        return out;
    }

    static boolean ours(Path p) {
        try (var lines = Files.lines(p, StandardCharsets.UTF_8)) {
            return lines.findFirst().map(l -> l.contains(PgBouncerFiles.MARK)).orElse(false);
        } catch (IOException | java.io.UncheckedIOException e) {
            return false;
        }
    }
}
