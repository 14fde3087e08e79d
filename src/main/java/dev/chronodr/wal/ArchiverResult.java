package dev.chronodr.wal;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextView;

/** What a wal-archiver did before it was stopped. */
public record ArchiverResult(String repository, String socket, long archived, long alreadyArchived, long failed, long durationMs)
        implements CommandResult {

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        return TextView.builder()
                .line("wal-archiver: stopped; " + archived + " segment(s) archived, " + alreadyArchived + " already archived, "
                        + failed + " refused or failed (" + repository + ")")
                .build();
    }
}
