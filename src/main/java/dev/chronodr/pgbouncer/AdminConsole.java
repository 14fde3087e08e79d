package dev.chronodr.pgbouncer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import dev.chronodr.config.PasswordSources;
import dev.chronodr.config.Target;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/**
 * PgBouncer's admin console (the {@code pgbouncer} database), spoken to through psql: the
 * console takes only the simple query protocol and refuses startup parameters it does not know
 * (the JDBC driver sends extra_float_digits), while psql works against any PgBouncer. The
 * password goes into psql's environment; every call has a connect timeout and a deadline.
 */
public final class AdminConsole {
    /** Names the console's commands take as they are: it has no quoting. */
    private static final Pattern PLAIN_NAME = Pattern.compile("[A-Za-z0-9_.$-]+");
    private static final String SEPARATOR = "\u001f";
    /** libpq settings that would change where psql goes or what it sends (PGOPTIONS is refused by PgBouncer). */
    private static final List<String> UNSET = List.of("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD",
            "PGOPTIONS", "PGSERVICE", "PGSERVICEFILE", "PGTARGETSESSIONATTRS", "PGCONNECT_TIMEOUT");

    private final String host;
    private final int port;
    private final String user;
    private final Secret password;
    private final int connectTimeoutSeconds;
    private final ProcessRunner runner;
    private final Path psql;

    AdminConsole(String host, int port, String user, Secret password, int connectTimeoutSeconds, ProcessRunner runner, Path psql) {
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.connectTimeoutSeconds = connectTimeoutSeconds;
        this.runner = runner;
        this.psql = psql;
    }

    /** Why the console could not answer: unreachable (down, refused, timed out) or not usable (login, psql missing). */
    public static final class ConsoleException extends RuntimeException {
        private final boolean unreachable;

        ConsoleException(String message, boolean unreachable) {
            super(message);
            this.unreachable = unreachable;
        }

        public boolean unreachable() {
            return unreachable;
        }
    }

    /** The console of the target's PgBouncer, as its {@code pgbouncer:} section names it; it must name an admin_user. */
    public static AdminConsole of(Target target, PgBouncerSection s, Environment env, ProcessRunner runner) {
        if (s == null || !s.hasAdmin()) {
            throw new ConsoleException("the target's pgbouncer section names no admin_user", false);
        }
        Secret password = s.adminPasswordFile == null ? null
                : PasswordSources.secretFile(env.resolve(s.adminPasswordFile), "PgBouncer admin password",
                "check pgbouncer.admin_password_file in the config");
        Path psql = findPsql(runner, env);
        return new AdminConsole(s.host(target), s.listenPort(), s.adminUser, password, s.connectTimeoutSeconds(), runner, psql);
    }

    public String where() {
        return host + ":" + port;
    }

    /** {@code SHOW WHAT}: one map per row, column name to text. */
    public List<Map<String, String>> show(String what) {
        ProcessResult r = run("SHOW " + what, Duration.ofSeconds(connectTimeoutSeconds + 15L));
        return parse(r.stdout());
    }

    /** {@code PAUSE db}: returns once PgBouncer has released the database's server connections, or throws at the deadline. */
    public void pause(String database, Duration deadline) {
        run("PAUSE " + plain(database), deadline.plusSeconds(connectTimeoutSeconds));
    }

    public void resume(String database) {
        run("RESUME " + plain(database), Duration.ofSeconds(connectTimeoutSeconds + 15L));
    }

    static String plain(String database) {
        if (!PLAIN_NAME.matcher(database).matches()) {
            throw new IllegalArgumentException("PgBouncer's admin console cannot name the database '" + database
                    + "' (letters, digits, _ . $ - only)");
        }
        return database;
    }

    private ProcessResult run(String command, Duration timeout) {
        if (psql == null) {
            throw new ConsoleException("psql not found: chrono-dr speaks to PgBouncer's admin console through psql"
                    + " (install postgresql-client)", false);
        }
        List<String> argv = List.of(psql.toString(), "-X", "-A", "-F", SEPARATOR, "-P", "footer=off", "-v", "ON_ERROR_STOP=1",
                "-h", host, "-p", String.valueOf(port), "-U", user, "-d", "pgbouncer", "-c", command);
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PGCONNECT_TIMEOUT", String.valueOf(connectTimeoutSeconds));
        env.put("PGAPPNAME", "chrono-dr");
        if (password != null) {
            env.put("PGPASSWORD", password.reveal());
        }
        ProcessResult r;
        try {
            r = runner.execute(ProcessSpec.of(argv).withoutEnv(UNSET).withEnv(env).withTimeout(timeout));
        } catch (ProcessFailedException e) {
            if (e.timedOut()) {
                throw new ConsoleException("PgBouncer at " + where() + " did not finish " + command + " within "
                        + timeout.toSeconds() + " s", true);
            }
            throw new ConsoleException("cannot run psql for PgBouncer's admin console: " + e.getMessage(), false);
        }
        if (!r.succeeded()) {
            String err = r.stderrTail().strip();
            String last = err.isEmpty() ? "psql exited " + r.exitCode() : err.lines().reduce((a, b) -> b).orElse(err)
                    .replaceFirst("^psql: error: ", "");
            String lower = err.toLowerCase(Locale.ROOT);
            boolean unreachable = lower.contains("connection refused") || lower.contains("timeout expired")
                    || lower.contains("could not translate host name") || lower.contains("no route to host")
                    || lower.contains("server closed the connection") || lower.contains("network is unreachable");
            throw new ConsoleException("PgBouncer at " + where() + ": " + last, unreachable);
        }
        return r;
    }

    static List<Map<String, String>> parse(String out) {
        List<Map<String, String>> rows = new ArrayList<>();
        List<String> lines = out.lines().toList();
        if (lines.isEmpty()) {
            return rows;
        }
        String[] header = lines.get(0).split(SEPARATOR, -1);
        for (String line : lines.subList(1, lines.size())) {
            String[] fields = line.split(SEPARATOR, -1);
            Map<String, String> row = new LinkedHashMap<>();
            for (int i = 0; i < header.length; i++) {
                row.put(header[i], i < fields.length ? fields[i] : "");
            }
            rows.add(row);
        }
        return rows;
    }

    /** Any psql will do for the console: the newest PostgreSQL one, else the one on PATH. */
    private static Path findPsql(ProcessRunner runner, Environment env) {
        ToolLocator locator = new ToolLocator(runner, env.vars());
        Optional<Path> newest = locator.candidates(PgTool.PSQL).stream()
                .max(Comparator.comparing(ToolLocator.Candidate::version)).map(ToolLocator.Candidate::path);
        return newest.or(() -> locator.onPath("psql")).orElse(null);
    }
}
