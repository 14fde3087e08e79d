package dev.chronodr.catalog;

import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.repo.RepositoryCopy;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/**
 * What {@code repo copy} did: per backup copied, skipped (already there), failed or not
 * copied (not good at the source), and the WAL files it copied. Exit 0 when every backup
 * asked for is at the destination, 1 when a copy failed or a different backup holds its id
 * there, 2 when a source file is damaged. With {@code --missing}, also the restore points
 * recorded at the source that the destination lacks ({@code restorePoints}: how many).
 */
public record CopyResult(String from, String to, List<RepositoryCopy.Item> backups, int copied, int skipped, int failed,
                         long bytes, Wal wal, int restorePoints, List<String> problems) implements CommandResult {

    /** WAL files copied, and already present with the same checksum. */
    public record Wal(int copied, int present, long bytes) {
    }

    public static CopyResult of(RepositoryCopy.Outcome o) {
        int copied = count(o, RepositoryCopy.Action.COPIED);
        int skipped = count(o, RepositoryCopy.Action.SKIPPED);
        int failed = (int) o.backups().stream().filter(i -> i.exit() != ExitCode.OK).count();
        long bytes = o.backups().stream().mapToLong(RepositoryCopy.Item::bytes).sum();
        return new CopyResult(o.from(), o.to(), o.backups(), copied, skipped, failed, bytes,
                new Wal(o.walCopied(), o.walPresent(), o.walBytes()), o.restorePoints(), o.problems());
    }

    private static int count(RepositoryCopy.Outcome o, RepositoryCopy.Action a) {
        return (int) o.backups().stream().filter(i -> i.action() == a).count();
    }

    @Override
    public ExitCode exitCode() {
        return new RepositoryCopy.Outcome(from, to, backups, 0, 0, 0, 0, problems).exit();
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line(String.format("repo copy %s -> %s: copied %d backup(s) (%s), skipped %d already there, %d failed; WAL: copied %d file(s) (%s)%s",
                from, to, copied, TextOutput.bytes(bytes), skipped, failed, wal.copied(), TextOutput.bytes(wal.bytes()),
                restorePoints > 0 ? "; " + restorePoints + " restore point(s)" : ""));
        for (RepositoryCopy.Item i : backups) {
            String what = switch (i.action()) {
                case COPIED -> "copied      " + i.id() + "  (" + TextOutput.bytes(i.bytes()) + (i.walFiles() > 0 ? ", " + i.walFiles() + " WAL file(s)" : "") + ")";
                case SKIPPED -> "skipped     " + i.id() + "  (" + i.reason() + ")";
                case FAILED -> "FAILED      " + i.id() + "  " + i.reason();
                case NOT_COPIED -> (i.exit() == ExitCode.OK ? "not copied  " : "NOT COPIED  ") + i.id() + "  (" + i.reason() + ")";
            };
            out.line("  " + what);
        }
        for (String p : problems) {
            out.line("  PROBLEM: " + p);
        }
        return out.build();
    }
}
