package dev.chronodr.pg;

import java.util.List;
import java.util.Locale;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.process.ProcessFailedException;

/**
 * Turns the known ways PostgreSQL's tools fail into a cause and a hint, instead of a
 * raw exit code. The stderr tail stays attached for {@code --verbose}.
 */
public final class ToolFailures {
    private ToolFailures() {
    }

    private record Rule(String needle, ExitCode code, String cause, String hint) {
    }

    private static final List<Rule> RULES = List.of(
            new Rule("password authentication failed", ExitCode.CRITICAL, "password authentication failed",
                    "check PGPASSWORD, --password-file, the config's password_file or ~/.pgpass"),
            new Rule("no password supplied", ExitCode.CRITICAL, "the server asks for a password and none was given",
                    "set PGPASSWORD, pass --password-file FILE, or add a line to ~/.pgpass"),
            new Rule("fe_sendauth: no password", ExitCode.CRITICAL, "the server asks for a password and none was given",
                    "set PGPASSWORD, pass --password-file FILE, or add a line to ~/.pgpass"),
            new Rule("no pg_hba.conf entry", ExitCode.CRITICAL, "the server's pg_hba.conf has no entry for this client",
                    "add a host line for this client to pg_hba.conf and reload"),
            new Rule("server does not support ssl", ExitCode.CRITICAL, "SSL was required but the server does not support it",
                    "set --sslmode prefer/disable, or enable ssl on the server"),
            new Rule("ssl off", ExitCode.CRITICAL, "the server requires SSL for this client",
                    "set --sslmode require (or PGSSLMODE=require)"),
            new Rule("server version mismatch", ExitCode.UNKNOWN, "the client tool is older than the server",
                    "install the client package matching the server's major version (postgresql-client-N)"),
            new Rule("connection refused", ExitCode.CRITICAL, "the server refused the connection",
                    "is PostgreSQL running and listening on that host and port?"),
            new Rule("could not translate host name", ExitCode.CRITICAL, "unknown host",
                    "check -h/--host or PGHOST"),
            new Rule("no space left on device", ExitCode.FAILED, "disk full",
                    "free space on the target filesystem or point --repo elsewhere"),
            new Rule("permission denied", ExitCode.FAILED, "permission denied",
                    "the connecting role lacks a privilege, or a file is not writable; see the detail above"),
            new Rule("executable file not found", ExitCode.UNKNOWN, "the tool is not installed in the container",
                    "install the PostgreSQL client tools in that image"),
            new Rule("no such service", ExitCode.USAGE, "docker compose has no such service",
                    "check --service and --compose-file"),
            new Rule("no such container", ExitCode.USAGE, "docker has no such container",
                    "check --container"));

    /** Explain a tool failure as a {@link ChronoException}. */
    public static ChronoException explain(ProcessFailedException e) {
        String tail = e.stderrTail();
        String lower = tail.toLowerCase(Locale.ROOT);
        if (e.timedOut()) {
            return new ChronoException(ExitCode.FAILED, e.program() + " timed out", "raise the timeout or check the server's load", e);
        }
        if (e.getCause() instanceof ChronoException ours) {
            // what took the tool's output failed and said why (a lease lost, say): that is the story, not the tool,
            // whose own failure stays in the chain for --verbose
            return new ChronoException(ours.exitCode(), ours.getMessage(), ours.hint(), e);
        }
        if (e.exitCode() == -1 && e.getCause() != null && !(e.getCause() instanceof InterruptedException)) {
            String detail = e.getCause().getMessage() == null ? e.getCause().toString() : e.getCause().getMessage();
            if (detail.toLowerCase(Locale.ROOT).contains("no space left")) {
                return new ChronoException(ExitCode.FAILED, e.program() + " failed: disk full",
                        "free space on the target filesystem or point --repo elsewhere", e);
            }
            return new ChronoException(ExitCode.FAILED, e.program() + " failed: " + detail, null, e);
        }
        for (Rule rule : RULES) {
            if (lower.contains(rule.needle())) {
                return new ChronoException(rule.code(), e.program() + " failed: " + rule.cause() + " (" + lastErrorLine(tail) + ")",
                        rule.hint(), e);
            }
        }
        if (e.getCause() != null && e.getCause().getMessage() != null) {
            // what fed the tool or took its output failed (a repository that could not be read or written): the tool
            // itself did not, so the line says the stream did
            return new ChronoException(ExitCode.FAILED, e.program() + " stream failed: " + e.getCause().getMessage(), null, e);
        }
        String last = lastErrorLine(tail);
        return new ChronoException(ExitCode.FAILED,
                e.program() + " exited with code " + e.exitCode() + (last.isEmpty() ? "" : ": " + last), null, e);
    }

    /** The most telling line: the last one that says error or FATAL, else the last line. */
    static String lastErrorLine(String tail) {
        String[] lines = tail.strip().split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            String l = lines[i].toLowerCase(Locale.ROOT);
            if (l.contains("error") || l.contains("fatal")) {
                return lines[i].strip();
            }
        }
        return lines.length == 0 ? "" : lines[lines.length - 1].strip();
    }
}
