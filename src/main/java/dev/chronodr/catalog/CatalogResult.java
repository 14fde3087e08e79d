package dev.chronodr.catalog;

import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.BackupState;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/** The repository's catalog, newest first. */
public record CatalogResult(String repository, List<Entry> backups, Pitr pointInTime) implements CommandResult {

    /** The WAL archive and the window point-in-time recovery can reach with the base backups present. */
    public record Pitr(int baseBackups, int walSegments, long walBytes, String oldestSegment, String newestSegment,
                       String earliestRecoverable, String latestRecoverable) {
    }

    public CatalogResult withPointInTime(Pitr p) {
        return new CatalogResult(repository, backups, p);
    }

    /** {@code state}: see {@link BackupState}; {@code reason} says why when it is not simply complete or verified. */
    public record Entry(String id, String database, String type, String state, String reason, String verifiedAt, String time,
                        long bytes, Long rows, Integer tables, String compression, String label, boolean legacy, String path,
                        @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
                        List<String> repositories) {
        /** With the names of the configured repositories that hold it (list, when several are configured). */
        public Entry heldBy(List<String> names) {
            return new Entry(id, database, type, state, reason, verifiedAt, time, bytes, rows, tables, compression, label, legacy, path, names);
        }
    }

    /** These entries instead (list over several repositories). */
    public CatalogResult withBackups(List<Entry> entries) {
        return new CatalogResult(repository, entries, pointInTime);
    }

    public static CatalogResult of(BackupCatalog catalog) {
        List<Entry> entries = catalog.all().stream().map(b -> {
            BackupManifest m = b.manifest();
            Long rows = m == null ? null : m.tables().stream().mapToLong(t -> t.rows() == null ? 0 : t.rows()).sum();
            return new Entry(b.id(), b.database(), b.type(), b.state().label(), b.reason(),
                    b.verifiedAt() == null ? null : b.verifiedAt().toString(), b.time() == null ? null : b.time().toString(), b.bytes(), rows,
                    m == null ? null : m.tables().size(), m == null ? null : m.compression(), m == null ? null : m.label(),
                    b.legacy(), b.path() != null ? b.location() : catalog.repo().location() + "/" + b.key(), null);
        }).toList();
        return new CatalogResult(catalog.repo().location(), entries, null);
    }

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        backupLines(out);
        if (pointInTime != null) {
            out.line("");
            out.line(String.format("point-in-time: %d base backup(s), %d WAL segment(s) (%s) from %s to %s", pointInTime.baseBackups(),
                    pointInTime.walSegments(), TextOutput.bytes(pointInTime.walBytes()), pointInTime.oldestSegment(), pointInTime.newestSegment()));
            out.line("  recoverable from " + (pointInTime.earliestRecoverable() == null ? "- (no base backup)" : pointInTime.earliestRecoverable())
                    + " to " + (pointInTime.latestRecoverable() == null ? "-" : pointInTime.latestRecoverable()));
        }
        return out.build();
    }

    private void backupLines(TextView.Builder out) {
        if (backups.isEmpty()) {
            out.line("no backups in " + repository);
            return;
        }
        boolean several = backups.stream().anyMatch(e -> e.repositories() != null);
        if (several) {
            out.line(String.format("%-44s %-8s %-9s %-26s %10s %10s  %-20s %s", "ID", "TYPE", "STATE", "FINISHED", "SIZE", "ROWS", "REPOSITORIES", "NOTE"));
        } else {
            out.line(String.format("%-44s %-8s %-9s %-26s %10s %10s  %s", "ID", "TYPE", "STATE", "FINISHED", "SIZE", "ROWS", "NOTE"));
        }
        for (Entry e : backups) {
            if (several) {
                out.line(String.format("%-44s %-8s %-9s %-26s %10s %10s  %-20s %s", e.id(), e.type() == null ? "?" : e.type(), e.state(),
                        e.time() == null ? "?" : e.time(), TextOutput.bytes(e.bytes()), e.rows() == null ? "-" : e.rows(),
                        e.repositories() == null || e.repositories().isEmpty() ? "-" : String.join(",", e.repositories()), note(e)));
                continue;
            }
            String note = note(e);
            out.line(String.format("%-44s %-8s %-9s %-26s %10s %10s  %s", e.id(), e.type() == null ? "?" : e.type(), e.state(),
                    e.time() == null ? "?" : e.time(), TextOutput.bytes(e.bytes()), e.rows() == null ? "-" : e.rows(), note));
        }
    }

    private static String note(Entry e) {
        return e.reason() != null ? e.reason()
                : e.verifiedAt() != null ? "checksums matched " + e.verifiedAt() + (e.label() != null ? "; " + e.label() : "")
                : e.label() != null ? e.label() : "";
    }
}
