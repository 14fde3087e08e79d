package dev.chronodr.repo;

import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/** What retention removed (or, with --dry-run, would remove) and what it kept, with reasons. */
public record CleanupResult(String repository, boolean dryRun, Integer retentionDays, Integer keepLast,
                            List<Item> deleted, List<Item> kept, long bytesFreed, Wal wal, List<String> problems,
                            List<String> interruptedDeletesRemoved) implements CommandResult {

    /** WAL segments removed because no retained base backup needs them. */
    public record Wal(List<String> deleted, long bytesFreed, String keptFrom) {
    }

    public CleanupResult withWal(Wal w) {
        return new CleanupResult(repository, dryRun, retentionDays, keepLast, deleted, kept, bytesFreed, w, problems, interruptedDeletesRemoved);
    }

    public record Item(String id, String database, String type, String state, String time, long bytes, String reason) {
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
        for (Item i : deleted) {
            out.line("  " + (dryRun ? "would delete " : "deleted ") + i.id() + "  (" + i.reason() + ")");
        }
        for (Item i : kept) {
            out.line("  kept    " + i.id() + "  [" + i.state() + "] (" + i.reason() + ")");
        }
        if (wal != null && wal.keptFrom() != null) {
            out.line(String.format("  WAL: %s %d segment(s) older than %s, %s", verb, wal.deleted().size(), wal.keptFrom(),
                    TextOutput.bytes(wal.bytesFreed())));
        }
        return out.build();
    }
}
