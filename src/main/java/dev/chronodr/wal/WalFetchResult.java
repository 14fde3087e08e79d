package dev.chronodr.wal;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/**
 * What wal-fetch did. A file the archive does not have is exit 1 with one short line:
 * the server asks for such files at the end of every recovery, so it is not an error
 * worth a hint.
 */
public record WalFetchResult(String name, String destination, boolean found, long bytes, String withheld) implements CommandResult {

    @Override
    public ExitCode exitCode() {
        return found ? ExitCode.OK : ExitCode.FAILED;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line(found ? "wal-fetch: " + name + " restored (" + TextOutput.bytes(bytes) + ")"
                : withheld != null ? "wal-fetch: " + name + " is not handed out: " + withheld
                : "wal-fetch: " + name + " is not in the archive");
        return out.build();
    }
}
