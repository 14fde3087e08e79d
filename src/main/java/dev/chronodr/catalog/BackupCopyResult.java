package dev.chronodr.catalog;

import com.fasterxml.jackson.annotation.JsonUnwrapped;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.RepositoryCopy;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextView;

/**
 * {@code backup --copy-to}: the backup's own result (its JSON fields as they are), then the
 * copy's. The backup stands when the copy fails: exit 1, and a line saying the backup is good
 * where it was taken and how to retry the copy.
 */
public record BackupCopyResult(@JsonUnwrapped CommandResult backup, CopyResult copy, String copyFailed) implements CommandResult {

    /**
     * Copies the backup just taken ({@code id}; null for a WAL switch, which copies what the
     * destination lacks) from {@code from} to {@code to}.
     */
    public static BackupCopyResult after(CommandResult backup, String id, Repository from, Repository to) {
        RepositoryCopy.Selection which = new RepositoryCopy.Selection(id, id == null);
        String retry = "chrono-dr repo copy --from " + from.location() + " --to " + to.location()
                + (id == null ? " --missing" : " --backup-id " + id);
        String good = (id == null ? "the backup" : "backup " + id) + " is good in " + from.location() + "; the copy to " + to.location() + " failed";
        try {
            CopyResult copy = CopyResult.of(RepositoryCopy.run(from, to, which));
            return new BackupCopyResult(backup, copy, copy.exitCode() == ExitCode.OK ? null : good + " (retry: " + retry + ")");
        } catch (ChronoException e) {
            return new BackupCopyResult(backup, null, good + ": " + e.getMessage() + " (retry: " + retry + ")");
        }
    }

    @Override
    public ExitCode exitCode() {
        return backup.exitCode() != ExitCode.OK ? backup.exitCode() : copyFailed != null ? ExitCode.FAILED : ExitCode.OK;
    }

    @Override
    public TextView text() {
        java.util.List<TextView.Row> rows = new java.util.ArrayList<>(backup.text().rows());
        if (copy != null) {
            rows.addAll(copy.text().rows());
        }
        if (copyFailed != null) {
            rows.addAll(TextView.builder().line("COPY FAILED: " + copyFailed).build().rows());
        }
        return new TextView(rows);
    }
}
