package dev.chronodr.wal;

import java.time.OffsetDateTime;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextView;

/** A named restore point: where it is in the WAL and when it was made. */
public record RestorePointResult(String name, String lsn, String walFile, int timeline, OffsetDateTime createdAt,
                                 String recordedIn) implements CommandResult {
    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line("Restore point '" + name + "' created");
        out.field("lsn", lsn);
        out.field("time", createdAt);
        out.field("wal file", walFile + " (timeline " + timeline + ")");
        out.line("Restore to it with: chrono-dr pitr restore --target-name '" + name.replace("'", "'\\''")
                + "' --data-dir DIR --port PORT (once " + walFile + " is archived)");
        return out.build();
    }
}
