package dev.chronodr.repo;

import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;

/** The repository's catalog, newest first. */
public record CatalogResult(String repository, List<Entry> backups) implements CommandResult {

    public record Entry(String id, String database, String type, String time, long bytes, Long rows, Integer tables,
                        String compression, String label, boolean legacy, String problem, String path) {
    }

    public static CatalogResult of(Repository repo) {
        List<Entry> entries = repo.backups().stream().map(b -> {
            BackupManifest m = b.manifest();
            Long rows = m == null ? null : m.tables().stream().mapToLong(t -> t.rows() == null ? 0 : t.rows()).sum();
            return new Entry(b.id(), b.database(), b.type(), b.time() == null ? null : b.time().toString(), b.bytes(), rows,
                    m == null ? null : m.tables().size(), m == null ? null : m.compression(), m == null ? null : m.label(),
                    b.legacy(), b.problem(), b.location());
        }).toList();
        return new CatalogResult(repo.root().toString(), entries);
    }

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public void renderText(TextOutput out) {
        if (backups.isEmpty()) {
            out.line("no backups in " + repository);
            return;
        }
        out.line(String.format("%-44s %-8s %-26s %10s %10s  %s", "ID", "TYPE", "FINISHED", "SIZE", "ROWS", "NOTE"));
        for (Entry e : backups) {
            out.line(String.format("%-44s %-8s %-26s %10s %10s  %s", e.id(), e.type() == null ? "?" : e.type(),
                    e.time() == null ? "?" : e.time(), TextOutput.bytes(e.bytes()), e.rows() == null ? "-" : e.rows(),
                    e.problem() != null ? e.problem() : e.label() != null ? e.label() : ""));
        }
    }
}
