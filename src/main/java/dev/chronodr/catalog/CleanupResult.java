package dev.chronodr.catalog;

import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.repo.Retention;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/** What retention removed (or, with --dry-run, would remove) and what it kept, with reasons. */
public record CleanupResult(String repository, boolean dryRun, Integer retentionDays, Integer keepLast,
                            List<Retention.Item> deleted, List<Retention.Item> kept, long bytesFreed, Wal wal, List<String> problems,
                            List<String> interruptedDeletesRemoved) implements CommandResult {

    /**
     * WAL segments removed because no retained base backup needs them, and the temp files of
     * wal-push runs killed mid-write ({@code abandonedWrites}).
     */
    public record Wal(List<String> deleted, long bytesFreed, String keptFrom, int abandonedWrites) {
    }

    static CleanupResult of(String repository, boolean dryRun, Integer retentionDays, Integer keepLast, Retention.Outcome o, Wal wal) {
        return new CleanupResult(repository, dryRun, retentionDays, keepLast, o.deleted(), o.kept(), o.bytesFreed(), wal,
                o.problems(), o.interruptedDeletesRemoved());
    }

    /** 1 when a database kept everything because no backup that protects it passed its checks. */
    @Override
    public ExitCode exitCode() {
        return problems.isEmpty() ? ExitCode.OK : ExitCode.FAILED;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        String verb = dryRun ? "would delete" : "deleted";
        out.line(String.format("cleanup %s: %s %d backup(s), %s; kept %d", repository, verb, deleted.size(),
                TextOutput.bytes(bytesFreed), kept.size()));
        for (String p : problems) {
            out.line("  PROBLEM: " + p);
        }
        for (String p : interruptedDeletesRemoved) {
            out.line("  removed what an interrupted cleanup left: .partial/" + p);
        }
        for (Retention.Item i : deleted) {
            out.line("  " + (dryRun ? "would delete " : "deleted ") + i.id() + "  (" + i.reason() + ")");
        }
        for (Retention.Item i : kept) {
            out.line("  kept    " + i.id() + "  [" + i.state() + "] (" + i.reason() + ")");
        }
        if (wal != null && wal.keptFrom() != null) {
            out.line(String.format("  WAL: %s %d segment(s) older than %s, %s", verb, wal.deleted().size(), wal.keptFrom(),
                    TextOutput.bytes(wal.bytesFreed())));
        }
        if (wal != null && wal.abandonedWrites() > 0) {
            out.line(String.format("  WAL: %s %d unfinished write(s) of killed wal-push runs", verb, wal.abandonedWrites()));
        }
        return out.build();
    }
}
