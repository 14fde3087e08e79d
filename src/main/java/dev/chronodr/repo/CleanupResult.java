package dev.chronodr.repo;

import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;

/** What retention removed (or, with --dry-run, would remove) and what it kept, with reasons. */
public record CleanupResult(String repository, boolean dryRun, Integer retentionDays, Integer keepLast,
                            List<Item> deleted, List<Item> kept, long bytesFreed, Wal wal) implements CommandResult {

    /** WAL segments removed because no retained base backup needs them. */
    public record Wal(List<String> deleted, long bytesFreed, String keptFrom) {
    }

    public CleanupResult withWal(Wal w) {
        return new CleanupResult(repository, dryRun, retentionDays, keepLast, deleted, kept, bytesFreed, w);
    }

    public record Item(String id, String database, String type, String time, long bytes, String reason) {
    }

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public void renderText(TextOutput out) {
        String verb = dryRun ? "would delete" : "deleted";
        out.line(String.format("cleanup %s: %s %d backup(s), %s; kept %d", repository, verb, deleted.size(),
                TextOutput.bytes(bytesFreed), kept.size()));
        for (Item i : deleted) {
            out.line("  " + (dryRun ? "would delete " : "deleted ") + i.id() + "  (" + i.reason() + ")");
        }
        for (Item i : kept) {
            out.line("  kept    " + i.id() + "  (" + i.reason() + ")");
        }
        if (wal != null && wal.keptFrom() != null) {
            out.line(String.format("  WAL: %s %d segment(s) older than %s, %s", verb, wal.deleted().size(), wal.keptFrom(),
                    TextOutput.bytes(wal.bytesFreed())));
        }
    }
}
