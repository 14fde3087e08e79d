package dev.chronodr.wal;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.WalArchive;

/**
 * Reads the archiving settings from pg_settings and, when asked, sets them with ALTER
 * SYSTEM, after making sure the server's OS user can write the archive ({@link ArchiveAccess}).
 */
public final class PitrSetupService {
    private static final String SETTINGS = """
            SELECT name, setting, unit, context, pending_restart
              FROM pg_settings
             WHERE name IN ('wal_level', 'archive_mode', 'archive_command', 'archive_timeout')
            """;

    private record Current(String value, String context, boolean pendingRestart) {
    }

    private final ProcessRunner runner;

    public PitrSetupService(ProcessRunner runner) {
        this.runner = runner;
    }

    public PitrSetupResult setup(ConnectionSettings conn, PitrSetupRequest req) {
        if (req.streaming()) {
            return StreamingSetup.setup(conn, req);
        }
        if (req.rpoMinutes() < 1) {
            throw ChronoException.usage("--rpo must be at least 1 minute", null);
        }
        // encrypted segments are never handed to wal-archiver: only a plain push has the shell's fast path
        String command = req.encryptTo().isEmpty() ? ArchiveCommand.pushHandedOff(req.launcher(), req.repo().toString())
                : ArchiveCommand.push(req.launcher(), req.repo().toString(), req.encryptTo());
        Map<String, String> wanted = new LinkedHashMap<>();
        try (Connection c = Database.connect(conn)) {
            Map<String, Current> now = read(c);
            String level = now.get("wal_level").value();
            wanted.put("wal_level", "minimal".equals(level) ? "replica" : level);
            wanted.put("archive_mode", "always".equals(now.get("archive_mode").value()) ? "always" : "on");
            wanted.put("archive_command", command);
            wanted.put("archive_timeout", req.archiveTimeoutSeconds() + "s");
            List<String> notes = new ArrayList<>();
            // before ALTER SYSTEM: an archive_command whose archive the server cannot write fails every segment
            ArchiveAccess.Outcome archive = req.repo().isS3() ? bucket(req.repo())
                    : new ArchiveAccess(runner).prepare(req.repo().local(), ArchiveAccess.locate(c), req.launcher(), req.apply());
            if (req.apply() && !archive.problems().isEmpty()) {
                throw ChronoException.failed(String.join("; ", archive.problems()) + "; no setting was changed",
                        "fix that, or choose a --repo the server's OS user can reach, and run pitr setup --apply again");
            }
            if (req.apply()) {
                for (var e : wanted.entrySet()) {
                    if (!same(e.getKey(), now.get(e.getKey()).value(), e.getValue())) {
                        alterSystem(c, e.getKey(), e.getValue());
                    }
                }
                try (Statement st = c.createStatement()) {
                    st.execute("SELECT pg_reload_conf()");
                }
                // The postmaster re-reads the file asynchronously; pending_restart is set once it has.
                sleep(500);
                notes.add("ALTER SYSTEM wrote postgresql.auto.conf; it overrides postgresql.conf");
            }
            Map<String, Current> after = req.apply() ? read(c) : now;
            List<PitrSetupResult.Setting> out = new ArrayList<>();
            boolean restart = false;
            for (var e : wanted.entrySet()) {
                Current before = now.get(e.getKey());
                Current a = after.get(e.getKey());
                boolean change = !same(e.getKey(), before.value(), e.getValue());
                boolean needsRestart = change && "postmaster".equals(before.context());
                boolean pending = req.apply() && a.pendingRestart();
                restart |= req.apply() ? pending : needsRestart;
                out.add(new PitrSetupResult.Setting(e.getKey(), before.value(), e.getValue(), change, needsRestart, pending));
            }
            notes.addAll(archive.notes());
            if (!req.encryptTo().isEmpty()) {
                notes.add("each segment is encrypted to " + req.encryptTo().size() + " key(s); archive_command runs as the server's OS user"
                        + (archive.serverUser() == null ? "" : " (" + archive.serverUser() + ")") + ", who must be able to read "
                        + String.join(", ", req.encryptTo().stream().map(Path::toString).toList()));
            }
            archive.problems().forEach(p -> notes.add("--apply would refuse: " + p));
            return new PitrSetupResult(command, req.rpoMinutes(), req.apply(), out, restart,
                    new WalArchive(dev.chronodr.repo.Repository.open(req.repo())).location(),
                    archive.serverUser(), notes);
        } catch (SQLException e) {
            throw ChronoException.failed("pitr setup: " + e.getMessage(),
                    e.getMessage() != null && e.getMessage().contains("permission") ? "ALTER SYSTEM needs a superuser" : null, e);
        }
    }

    /**
     * An archive in a bucket: nothing to prepare on this host, but wal-push reads no config
     * file, so the server's own environment must say where the bucket is and hold the
     * credentials. The notes name what it needs; a secret's value is never printed.
     */
    private static ArchiveAccess.Outcome bucket(dev.chronodr.repo.RepoLocation repo) {
        List<String> notes = new ArrayList<>();
        Map<String, String> env = repo.serverEnvironment();
        List<String> plain = new ArrayList<>();
        for (String k : List.of("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CA_BUNDLE")) {
            if (env.containsKey(k)) {
                plain.add(k + "=" + env.get(k));
            }
        }
        notes.add("archive_command runs wal-push into " + repo + " with the server's environment, which reads no config file: set "
                + (plain.isEmpty() ? "" : String.join(" ", plain) + " and ")
                + "the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~postgres/.aws/credentials, or an"
                + " instance or container role) in the server's environment (systemd: Environment= in a drop-in of its unit;"
                + " a container: its environment), then restart it; never in postgresql.conf"
                + (env.containsKey("AWS_CA_BUNDLE") ? "; the server (in its container, if it runs in one) must be able to read "
                        + env.get("AWS_CA_BUNDLE") : ""));
        return new ArchiveAccess.Outcome(null, notes, List.of());
    }

    static boolean same(String name, String current, String wanted) {
        if ("archive_timeout".equals(name)) {
            return (current + "s").equals(wanted);
        }
        return wanted.equals(current);
    }

    private static Map<String, Current> read(Connection c) throws SQLException {
        Map<String, Current> m = new LinkedHashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(SETTINGS)) {
            while (rs.next()) {
                m.put(rs.getString(1), new Current(rs.getString(2), rs.getString(4), rs.getBoolean(5)));
            }
        }
        return m;
    }

    /** ALTER SYSTEM takes no bind parameters; the server quotes the value with quote_literal. */
    static void alterSystem(Connection c, String name, String value) throws SQLException {
        String literal;
        try (PreparedStatement ps = c.prepareStatement("SELECT quote_literal(?)")) {
            ps.setString(1, value);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                literal = rs.getString(1);
            }
        }
        // name is one of the constants of this class or StreamingSetup, never user input
        try (Statement st = c.createStatement()) {
            st.execute("ALTER SYSTEM SET " + name + " = " + literal);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
