package dev.chronodr.restore;

import java.time.OffsetDateTime;
import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/** A recovered, promoted copy: from which base backup, to which point, where it runs, and how long the files and the recovery took. */
public record PitrRestoreResult(String target, String baseBackup, OffsetDateTime baseBackupEnd, String dataDir, int port,
                                String stoppedAt, String lastTransaction, String newTimeline, long durationMs, long filesMs, long recoveryMs, String logFile,
                                List<String> warnings) implements CommandResult {
    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line("Recovered to " + target + " and promoted");
        out.field("base backup", baseBackup + " (ended " + baseBackupEnd + ")");
        out.field("stopped", stoppedAt == null ? "at the end of the archived WAL" : stoppedAt);
        if (lastTransaction != null) {
            out.field("last commit", lastTransaction);
        }
        if (newTimeline != null) {
            out.field("new timeline", newTimeline);
        }
        out.field("data dir", dataDir);
        out.field("running on", "port " + port + " (server log " + logFile + ")");
        out.field("duration", TextOutput.duration(java.time.Duration.ofMillis(durationMs)) + " (files "
                + TextOutput.duration(java.time.Duration.ofMillis(filesMs)) + ", recovery to promotion "
                + TextOutput.duration(java.time.Duration.ofMillis(recoveryMs)) + ")");
        warnings.forEach(w -> out.line("Warning: " + w));
        return out.build();
    }
}
