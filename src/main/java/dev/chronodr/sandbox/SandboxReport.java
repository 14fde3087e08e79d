package dev.chronodr.sandbox;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextView;

/** Result of the sandbox commands. */
public record SandboxReport(String home, boolean exists, boolean running, SandboxState sandbox, String message)
        implements CommandResult {

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line("sandbox: " + message);
        out.field("home", home);
        if (sandbox != null) {
            out.field("server", "PostgreSQL " + sandbox.serverVersion() + " on 127.0.0.1:" + sandbox.port() + (running ? " (running)" : " (stopped)"));
            if (sandbox.inContainer()) {
                out.field("container", sandbox.container() + " (image " + sandbox.image() + ")");
            }
            out.field("database", sandbox.dbname() + " (scale " + sandbox.scale() + ")");
            out.field("backups", sandbox.repo());
            out.line("");
            out.line("Point chrono-dr at it with --sandbox, for example:");
            out.line("  chrono-dr check --sandbox");
            out.line("  chrono-dr dr-test --sandbox");
            out.line("or with psql: PGPASSWORD=$(cat " + sandbox.passwordFile() + ") psql -h 127.0.0.1 -p " + sandbox.port()
                    + " -U " + sandbox.user() + " " + sandbox.dbname());
        }
        return out.build();
    }
}
