package dev.chronodr.wal;

import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextView;

/**
 * The archiving settings: what they are, what they should be, and whether a restart is due;
 * the archive and the server's OS user (null: not on this host). What keeps that user
 * from writing the archive refuses --apply; without it, it is a note.
 */
public record PitrSetupResult(String archiveCommand, int rpoMinutes, boolean applied, List<Setting> settings,
                              boolean restartRequired, String archive, String serverOsUser, List<String> notes)
        implements CommandResult {

    /** {@code needsRestart}: the value only takes effect at server start (pg_settings.context = postmaster). */
    public record Setting(String name, String current, String wanted, boolean change, boolean needsRestart, boolean pendingRestart) {
    }

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line(applied ? "Point-in-time recovery settings applied (ALTER SYSTEM + pg_reload_conf):"
                : "Point-in-time recovery settings (not applied; run again with --apply, or put these in postgresql.conf):");
        for (Setting s : settings) {
            String state = !s.change() ? "ok" : applied ? (s.pendingRestart() ? "set, takes effect after a restart" : "set")
                    : (s.needsRestart() ? "to change, needs a restart" : "to change, a reload is enough");
            out.line(String.format("  %-16s = %s", s.name(), quoteIfNeeded(s.wanted())));
            out.line(String.format("  %-16s   now: %s  [%s]", "", quoteIfNeeded(s.current()), state));
        }
        if (restartRequired) {
            out.line("A restart of PostgreSQL is required before WAL is archived (e.g. systemctl restart postgresql, "
                    + "or docker compose restart postgres).");
        }
        notes.forEach(n -> out.line("Note: " + n));
        return out.build();
    }

    private static String quoteIfNeeded(String v) {
        return v == null ? "(unset)" : "'" + v.replace("'", "''") + "'";
    }
}
