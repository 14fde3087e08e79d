package dev.chronodr.wal;

import dev.chronodr.core.ExitCode;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/** What wal-push did with one file; printed into the server log by archive_command. */
public record WalPushResult(String name, String file, boolean alreadyArchived, long bytes, long storedBytes, String sha256,
                            long durationMs) implements CommandResult {

    static WalPushResult of(WalArchive.Pushed p, long durationMs) {
        return new WalPushResult(p.name(), p.file().toString(), p.alreadyArchived(), p.bytes(), p.storedBytes(), p.sha256(), durationMs);
    }

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        if (alreadyArchived) {
            out.line("wal-push: " + name + " already archived with the same content (" + file + ")");
        } else {
            out.line("wal-push: " + name + " archived (" + TextOutput.bytes(bytes) + " -> " + TextOutput.bytes(storedBytes)
                    + ", " + durationMs + " ms)");
        }
        return out.build();
    }
}
