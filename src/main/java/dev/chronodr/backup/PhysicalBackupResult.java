package dev.chronodr.backup;

import dev.chronodr.core.ExitCode;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/** A finished base backup. */
public record PhysicalBackupResult(String id, String location, PhysicalBackupInfo pitr, long bytes, long uncompressedBytes,
                                   long durationMs, String compression) implements CommandResult {

    static PhysicalBackupResult of(BackupManifest m, PhysicalBackupInfo info, String location) {
        BackupManifest.FileEntry base = m.file("base");
        return new PhysicalBackupResult(m.id(), location, info, base.bytes(), base.uncompressedBytes(), m.durationMs(), m.compression());
    }

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line("Base backup " + id + " done");
        out.field("location", location);
        out.field("size", TextOutput.bytes(bytes) + " (" + TextOutput.bytes(uncompressedBytes) + " before " + compression + ")");
        out.field("duration", TextOutput.duration(java.time.Duration.ofMillis(durationMs)));
        out.field("timeline", pitr.timeline());
        out.field("wal", pitr.startLsn() + " .. " + pitr.stopLsn() + " (" + pitr.startWalFile() + " .. " + pitr.stopWalFile() + ", archived)");
        out.field("recoverable", "from " + pitr.stopTime() + " on, as far as the WAL archive reaches");
        out.line("Check it with: chrono-dr verify --backup " + id + "  (pg_verifybackup and the WAL chain)");
        return out.build();
    }
}
