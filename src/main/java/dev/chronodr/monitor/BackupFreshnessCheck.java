package dev.chronodr.monitor;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.chronodr.core.Status;
import dev.chronodr.pitr.PitrCatalog;
import dev.chronodr.pitr.WalArchive;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StoredBackup;

/**
 * Is there a fresh backup? What check_postgres and pgMonitor do not watch. With WAL
 * archiving into the repository, the real RPO is the age of the newest archived segment
 * (on top of a base backup); without it, the age of the newest good backup of this
 * database against the backup schedule. Runs without a database connection, so a down
 * database still says how much could be recovered.
 */
final class BackupFreshnessCheck implements HealthCheck {
    @Override
    public String name() {
        return "backup_freshness";
    }

    @Override
    public String summary() {
        return "age of the newest good backup, or of the newest archived WAL with point-in-time recovery";
    }

    @Override
    public List<Threshold> thresholds() {
        return List.of(
                Threshold.higher("backup_age", Unit.SECONDS, 26 * 3600d, 50 * 3600d, "age of the newest good backup (the schedule)"),
                Threshold.higher("wal_age", Unit.SECONDS, 15 * 60d, 60 * 60d, "age of the newest archived WAL segment (the RPO)"));
    }

    @Override
    public boolean needsConnection() {
        return false;
    }

    @Override
    public CheckResult evaluate(CheckContext ctx) {
        Repository repo = new Repository(ctx.target().repo());
        String db = ctx.target().connection().dbname();
        if (!java.nio.file.Files.isDirectory(repo.root())) {
            // A monitor on a host without the repository cannot judge it; say so rather than page.
            return CheckResult.of(name(), Status.SKIPPED, "no backup repository at " + repo.root()
                    + " (pass --repo, or set repo in the config, to watch backup freshness from here)");
        }
        Instant now = Instant.now();
        PitrCatalog pitr = PitrCatalog.of(repo.root());
        Optional<WalArchive.Entry> newestWal = pitr.newestSegment();
        List<Metric> metrics = new ArrayList<>();
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("repository", repo.root().toString());

        if (!pitr.bases().isEmpty() && newestWal.isPresent()) {
            Threshold t = ctx.threshold("wal_age");
            double age = Duration.between(newestWal.get().archivedAt(), now).toMillis() / 1000.0;
            Status s = t.status(age);
            metrics.add(new Metric("wal_age", age, Unit.SECONDS, Map.of(), t.warning(), t.critical(),
                    "seconds since the newest WAL segment was archived"));
            item.put("newest_wal", newestWal.get().name());
            item.put("newest_base_backup", pitr.newestBase().get().id());
            return new CheckResult(name(), s, "point-in-time recovery reaches " + Unit.SECONDS.format(age) + " ago (WAL "
                    + newestWal.get().name() + ", base backup " + pitr.newestBase().get().id() + ")"
                    + (s == Status.OK ? "" : ", " + t.describe(s) + ": is archive_command failing?"), metrics, List.of(item));
        }
        Optional<StoredBackup> newest = repo.backups().stream()
                .filter(b -> b.usable() && (db.equals(b.database()) || "physical".equals(b.type())))
                .filter(b -> !"schema".equals(b.type()))
                .filter(b -> b.time() != null)
                .findFirst();
        if (newest.isEmpty()) {
            return new CheckResult(name(), Status.CRITICAL, "no backup of " + db + " in " + repo.root()
                    + ": take one with chrono-dr backup", metrics, List.of(item));
        }
        Threshold t = ctx.threshold("backup_age");
        double age = Duration.between(newest.get().time().toInstant(), now).toMillis() / 1000.0;
        Status s = t.status(age);
        metrics.add(new Metric("backup_age", age, Unit.SECONDS, Map.of(), t.warning(), t.critical(),
                "seconds since the newest good backup finished"));
        item.put("newest_backup", newest.get().id());
        return new CheckResult(name(), s, "newest backup " + newest.get().id() + " is " + Unit.SECONDS.format(age) + " old"
                + (s == Status.OK ? "" : ", " + t.describe(s) + ": is the backup cron job running?")
                + (newest.get().legacy() ? " (a legacy file without a manifest)" : ""), metrics, List.of(item));
    }
}
