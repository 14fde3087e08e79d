package dev.chronodr.backup;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.function.Supplier;

import dev.chronodr.config.Target;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Progress;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.Retention;
import dev.chronodr.report.CommandResult;

/**
 * The one path from a backup request to a stored backup: picks the service for its type
 * (logical dump, base backup, incremental WAL switch) and, after a logical backup that
 * succeeded, applies the request's retention. A backup that fails deletes nothing.
 */
public final class BackupRunner {
    /** How long a base or incremental backup waits for the server to archive its WAL. */
    static final Duration ARCHIVE_WAIT = Duration.ofMinutes(5);

    /** The logical backup as the runner calls it: {@link BackupService#backup}, or a test's stand-in. */
    interface Logical {
        BackupResult backup(Target target, BackupRequest request);
    }

    private final ProcessRunner runner;
    private final ToolLocator tools;
    private final Progress progress;
    private final String version;
    private final Logical logical;
    private final Supplier<OffsetDateTime> now;

    public BackupRunner(ProcessRunner runner, ToolLocator tools, Progress progress, String chronoDrVersion) {
        this(runner, tools, progress, chronoDrVersion,
                (target, request) -> new BackupService(runner, tools, progress, chronoDrVersion).backup(target, request), Clock::now);
    }

    BackupRunner(ProcessRunner runner, ToolLocator tools, Progress progress, String chronoDrVersion, Logical logical,
                 Supplier<OffsetDateTime> now) {
        this.runner = runner;
        this.tools = tools;
        this.progress = progress;
        this.version = chronoDrVersion;
        this.logical = logical;
        this.now = now;
    }

    public CommandResult run(Target target, BackupRequest request) {
        if (request.type() == BackupType.INCREMENTAL) {
            return new IncrementalBackupService(runner, tools, progress, version, ARCHIVE_WAIT)
                    .run(target, request.label(), request.compression());
        }
        if (request.type().physical()) {
            return new PhysicalBackupService(runner, tools, progress, version, ARCHIVE_WAIT)
                    .backup(target, request.label(), request.compression(), request.encryptTo());
        }
        BackupResult result = logical.backup(target, request);
        if (request.retentionDays() == null) {
            return result;
        }
        Repository repo = Repository.open(target.repo());
        Retention.Outcome cleanup = Retention.apply(repo, request.retentionDays(), null, false, now.get(), PitrCatalog.walCheck(repo));
        return result.withPruned(cleanup.deleted().stream().map(Retention.Item::id).toList());
    }
}
