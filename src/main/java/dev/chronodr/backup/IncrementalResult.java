package dev.chronodr.backup;

import java.time.OffsetDateTime;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/**
 * `backup --type incremental`: which method ran and the newest point now recoverable.
 * {@code method} "pg_basebackup-incremental": {@code backup} is the new incremental base
 * backup and {@code baseBackup} its parent. "wal-switch": no backup was taken ({@code backup}
 * null), {@code reason} says why, {@code baseBackup} is the base the archived WAL applies to.
 */
public record IncrementalResult(String method, String reason, String baseBackup, String switchLsn, String walFile,
                                OffsetDateTime recoverableUntil, long waitedMs, PhysicalBackupResult backup) implements CommandResult {
    public static final String NATIVE = "pg_basebackup-incremental";

    static IncrementalResult nativeBackup(PhysicalBackupResult r, String parent) {
        return new IncrementalResult(NATIVE, "PostgreSQL 17 incremental base backup (pg_basebackup --incremental) against base backup "
                + parent + "; a restore combines the chain with pg_combinebackup", parent, r.pitr().stopLsn(), r.pitr().stopWalFile(),
                r.pitr().stopTime(), 0, r);
    }

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        if (backup != null) {
            out.line("Incremental base backup " + backup.id() + " done");
            out.field("parent", baseBackup);
            out.field("location", backup.location());
            out.field("size", TextOutput.bytes(backup.bytes()) + " (" + TextOutput.bytes(backup.uncompressedBytes()) + " before "
                    + backup.compression() + ")");
            out.field("duration", TextOutput.duration(java.time.Duration.ofMillis(backup.durationMs())));
            out.field("wal", backup.pitr().startLsn() + " .. " + backup.pitr().stopLsn() + " (archived)");
            out.field("recoverable", "from " + recoverableUntil + " on, with its whole chain (restore combines it with pg_combinebackup)");
            return out.build();
        }
        out.line("Incremental backup by WAL switch: no new base backup was taken.");
        out.line("  " + reason);
        out.field("base backup", baseBackup);
        out.field("wal switched", switchLsn + ", segment " + walFile + " archived after " + waitedMs + " ms");
        out.field("recoverable", "up to " + recoverableUntil);
        return out.build();
    }
}
