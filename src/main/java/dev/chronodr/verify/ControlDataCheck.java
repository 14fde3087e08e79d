package dev.chronodr.verify;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.chronodr.core.Status;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessSpec;

/**
 * {@code pg_controldata} on the data directory given with --data-dir, run where the
 * database's tools run (this host, or the container): the cluster state, the latest
 * checkpoint, and that pg_control's CRC is right. The system identifier is compared with
 * the server's, so a --data-dir of some other cluster is noticed.
 */
public final class ControlDataCheck implements VerifyCheck {
    static final String NAME = "controldata";
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** The lines of pg_controldata's output that are reported, in this order. */
    static final List<String> KEYS = List.of("Database cluster state", "pg_control last modified", "Latest checkpoint location",
            "Latest checkpoint's REDO location", "Latest checkpoint's TimeLineID", "Time of latest checkpoint",
            "Minimum recovery ending location", "Data page checksum version", "Database system identifier",
            "pg_control version number");

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String title() {
        return "pg_control state of the data directory (pg_controldata; needs --data-dir on the database host)";
    }

    @Override
    public CheckResult run(VerifyContext context) throws SQLException {
        String dataDir = context.request().dataDir();
        if (dataDir == null) {
            List<String> step = List.of("pass --data-dir DIR (the server's data_directory, as seen where the tools run) to read pg_control");
            // Asked for by name, it could not run; merely not asked for, it does not apply.
            return context.request().only().contains(NAME) ? CheckResult.blocked(this, "no --data-dir given", step, List.of())
                    : CheckResult.skipped(this, "no --data-dir given", step);
        }
        DatabaseSession db = context.database();
        ServerInfo server = db.server();
        PgTools tools = new PgTools(context.target().exec(), context.target().connection(), context.runner(), context.locator(),
                server.version());
        if (tools.exec().mode() == ExecMode.LOCAL) {
            ToolLocator.Located l = tools.locate(PgTool.PG_CONTROLDATA);
            if (l.path() == null) {
                return CheckResult.blocked(this, "pg_controldata is not installed on this host",
                        List.of("install the PostgreSQL " + server.version().major() + " server package on the database host, "
                                + "or run it in the database container with --exec compose or --exec docker"), List.of());
            }
            if (l.version().major() != server.version().major()) {
                return CheckResult.blocked(this, "pg_controldata here is version " + l.version().major() + " but the server is "
                        + server.version().major() + "; pg_control's layout differs between major versions",
                        List.of("install the PostgreSQL " + server.version().major() + " server package on the database host, "
                                + "or use --exec compose/--exec docker"), List.of());
            }
        }
        ProcessSpec spec = tools.spec(PgTool.PG_CONTROLDATA, List.of(dataDir))
                // The output is parsed: keep it in English.
                .withEnv(Map.of("LC_ALL", "C", "LANG", "C"))
                .withTimeout(TIMEOUT);
        ProcessResult r;
        try {
            r = context.runner().execute(spec);
        } catch (ProcessFailedException e) {
            return CheckResult.blocked(this, "pg_controldata could not run: " + e.getMessage(), List.of(), List.of());
        } catch (RuntimeException e) {
            return CheckResult.blocked(this, "pg_controldata could not run: " + e.getMessage(), List.of(), List.of());
        }
        if (!r.succeeded()) {
            String last = lastLine(r.stderrTail());
            return CheckResult.blocked(this, "pg_controldata " + dataDir + " failed: " + last,
                    List.of(last.toLowerCase(Locale.ROOT).contains("permission denied")
                            ? "run chrono-dr as the server's OS user (usually postgres), or in the container with --exec compose"
                            : "check that --data-dir is the server's data_directory (SHOW data_directory) as seen where the tools run"),
                    List.of());
        }
        Map<String, String> fields = parse(r.stdout());
        if (!fields.containsKey("Database cluster state")) {
            return CheckResult.blocked(this, "pg_controldata's output has no 'Database cluster state' line; it may be translated",
                    List.of("run the tools with English messages (LC_MESSAGES=C in the container's environment)"), List.of());
        }
        return judge(fields, r.stdout() + "\n" + r.stderrTail(), server, systemIdentifier(db), dataDir);
    }

    CheckResult judge(Map<String, String> fields, String output, ServerInfo server, String serverSystemId, String dataDir) {
        List<Finding> findings = new ArrayList<>();
        String state = fields.getOrDefault("Database cluster state", "(missing)");
        String object = dataDir;
        Map<String, String> shown = new LinkedHashMap<>();
        KEYS.forEach(k -> {
            if (fields.containsKey(k)) {
                shown.put(k, fields.get(k));
            }
        });
        List<String> details = shown.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList();
        if (output.contains("calculated CRC checksum does not match") || output.contains("Calculated CRC checksum does not match")) {
            findings.add(new Finding(Status.CRITICAL, "file", dataDir + "/global/pg_control",
                    "pg_control's CRC does not match its contents: the file is damaged", null, null, details,
                    "do not restart this server before you have a copy of the data directory; restore from a backup"));
        }
        String fileId = fields.get("Database system identifier");
        if (serverSystemId != null && fileId != null && !fileId.equals(serverSystemId)) {
            findings.add(new Finding(Status.WARNING, "data directory", object, "belongs to another cluster (system identifier "
                    + fileId + "; the server reports " + serverSystemId + ")", null, null, details,
                    "pass the server's own data directory: SHOW data_directory"));
        } else {
            boolean expected = server.inRecovery() ? state.equals("in archive recovery") : state.equals("in production");
            if (!expected) {
                findings.add(new Finding(Status.WARNING, "data directory", object, "cluster state is '" + state + "' while the server runs as "
                        + server.role() + (state.startsWith("shut down") ? ": this is probably not the running server's data directory" : ""),
                        null, null, details, null));
            }
        }
        String summary = "cluster state: " + state + "; latest checkpoint " + fields.getOrDefault("Latest checkpoint location", "?")
                + " at " + fields.getOrDefault("Time of latest checkpoint", "?");
        if (findings.isEmpty()) {
            findings.add(new Finding(Status.OK, "data directory", object, "pg_control is readable and consistent with the server",
                    null, null, details, null));
        }
        return CheckResult.of(this, 1, findings, summary, List.of());
    }

    /** "Key:   value" lines; the key ends at the first colon. */
    static Map<String, String> parse(String output) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            int i = line.indexOf(':');
            if (i > 0) {
                m.put(line.substring(0, i).strip(), line.substring(i + 1).strip());
            }
        }
        return m;
    }

    /** The server's own system identifier; null when this role may not read it. */
    private static String systemIdentifier(DatabaseSession db) {
        try (Statement st = db.catalog().createStatement();
             ResultSet rs = st.executeQuery("SELECT system_identifier::text FROM pg_catalog.pg_control_system()")) {
            return rs.next() ? rs.getString(1) : null;
        } catch (SQLException e) {
            return null;
        }
    }

    private static String lastLine(String text) {
        String[] lines = text == null ? new String[0] : text.strip().split("\n");
        return lines.length == 0 ? "" : lines[lines.length - 1].strip();
    }
}
