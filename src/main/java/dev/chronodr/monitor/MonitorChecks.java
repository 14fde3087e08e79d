package dev.chronodr.monitor;

import java.util.List;

/**
 * The one list of checks {@code chrono-dr monitor} runs, in the order they are reported
 * when equally bad. A new check is added here and nowhere else.
 */
public final class MonitorChecks {
    private MonitorChecks() {
    }

    public static List<HealthCheck> all() {
        return List.of(
                new ConnectionCheck(),
                new SessionChecks.Connections(),
                new SessionChecks.LongQueries(),
                new SessionChecks.LongTransactions(),
                new SessionChecks.IdleInTransaction(),
                new SessionChecks.LockWaits(),
                new TableChecks.DeadTuples(),
                new TableChecks.LastVacuum(),
                new TableChecks.LastAnalyze(),
                new DatabaseHealthChecks.Wraparound(),
                new DatabaseHealthChecks.CacheHit(),
                new DatabaseHealthChecks.DatabaseSize(),
                new DiskCheck(),
                new ReplicationChecks.Replication(),
                new ReplicationChecks.ReplicationSlots(),
                new CheckpointsCheck(),
                new ArchivingCheck(),
                new WalStreamCheck(),
                new SlowStatementsCheck(),
                new PgBouncerCheck(),
                new BackupFreshnessCheck());
    }
}
