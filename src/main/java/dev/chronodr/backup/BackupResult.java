package dev.chronodr.backup;

import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/** A finished backup: its manifest, where it is, and what retention removed after it. */
public record BackupResult(BackupManifest manifest, String path, List<String> pruned, int leftoversRemoved) implements CommandResult {

    public BackupResult withLeftoversRemoved(int n) {
        return new BackupResult(manifest, path, pruned, n);
    }

    public BackupResult withPruned(List<String> ids) {
        return new BackupResult(manifest, path, List.copyOf(ids), leftoversRemoved);
    }

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        long rows = manifest.tables().stream().mapToLong(t -> t.rows() == null ? 0 : t.rows()).sum();
        BackupManifest.FileEntry dump = manifest.file("dump");
        out.line(String.format("backup %s: %s of %s, %d tables, %d rows, %s (%s before compression) in %s",
                manifest.id(), manifest.type(), manifest.database(), manifest.tables().size(), rows,
                TextOutput.bytes(manifest.totalBytes()), TextOutput.bytes(dump.uncompressedBytes()),
                TextOutput.duration(java.time.Duration.ofMillis(manifest.durationMs()))));
        out.field("path", path);
        out.field("compression", manifest.compression());
        if (manifest.encryption() != null) {
            out.field("encrypted", "OpenPGP to " + String.join(", ", manifest.encryption().recipients().stream()
                    .map(dev.chronodr.crypto.Recipient::describe).toList()));
        }
        out.field("globals", manifest.globals().included()
                ? "roles and tablespaces saved" + (manifest.globals().rolePasswordsIncluded() ? " with passwords" : " without passwords")
                : "not saved (" + manifest.globals().reason() + ")");
        if (leftoversRemoved > 0) {
            out.field("cleaned", leftoversRemoved + " unfinished backup(s) left by an interrupted run");
        }
        if (!pruned.isEmpty()) {
            out.field("pruned", String.join(", ", pruned));
        }
        return out.build();
    }
}
