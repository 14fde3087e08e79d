package dev.chronodr.backup;

import java.time.OffsetDateTime;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextView;

/** `backup --type incremental`: which method ran and the newest point now recoverable. */
public record IncrementalResult(String method, String reason, String baseBackup, String switchLsn, String walFile,
                                OffsetDateTime recoverableUntil, long waitedMs) implements CommandResult {
    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line("Incremental backup by WAL switch: no new base backup was taken.");
        out.line("  " + reason);
        out.field("base backup", baseBackup);
        out.field("wal switched", switchLsn + ", segment " + walFile + " archived after " + waitedMs + " ms");
        out.field("recoverable", "up to " + recoverableUntil);
        return out.build();
    }
}
