package dev.chronodr.check;

import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/** The answer to "can chrono-dr work against this database from here?". */
public record CheckReport(String target, String connection, Server server, String execMode,
                          List<Tool> tools, Repository repository, List<String> problems) implements CommandResult {

    public record Server(String version, int versionNum, String role, String database, long databaseSizeBytes,
                         boolean dataChecksums, String currentUser, boolean superuser) {
    }

    public record Tool(String name, String path, String version, boolean usable, boolean required, String problem) {
    }

    public record Repository(String path, boolean exists, boolean writable, String problem) {
    }

    @Override
    public ExitCode exitCode() {
        if (tools.stream().anyMatch(t -> t.required() && !t.usable())) {
            return ExitCode.UNKNOWN;
        }
        return repository.writable() ? ExitCode.OK : ExitCode.FAILED;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line((exitCode() == ExitCode.OK ? "OK" : "PROBLEM") + ": " + connection + " (target " + target + ")");
        out.field("server", "PostgreSQL " + server.version() + ", " + server.role());
        out.field("database", server.database() + ", " + TextOutput.bytes(server.databaseSizeBytes())
                + ", data checksums " + (server.dataChecksums() ? "on" : "off"));
        out.field("connected as", server.currentUser() + (server.superuser() ? " (superuser)" : ""));
        out.field("tools", "run " + execMode);
        for (Tool t : tools) {
            String state = t.usable() ? "ok  " : (t.required() ? "MISSING" : "absent");
            out.line(String.format("    %-8s %-15s %s", state, t.name(),
                    t.usable() ? t.version() + "  " + t.path() : t.problem()));
        }
        out.field("repository", repository.path() + (repository.writable()
                ? (repository.exists() ? " (writable)" : " (will be created)") : " (" + repository.problem() + ")"));
        for (String p : problems) {
            out.line("  problem: " + p);
        }
        return out.build();
    }
}
