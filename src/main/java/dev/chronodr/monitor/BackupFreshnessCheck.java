package dev.chronodr.monitor;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.chronodr.core.Status;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StoredBackup;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

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
    public CheckOutcome evaluate(CheckContext ctx) {
        Repository repo = Repository.open(ctx.target().repo());
        String db = ctx.target().connection().dbname();
        if (!repo.remote() && !java.nio.file.Files.isDirectory(repo.root())) {
            // A monitor on a host without the repository cannot judge it; say so rather than page.
            return CheckOutcome.of(name(), Status.SKIPPED, "no backup repository at " + repo.location()
                    + " (pass --repo, or set repo in the config, to watch backup freshness from here)");
        }
        Instant now = Instant.now();
        // Only whole, undamaged backups of this database (or base backups of its cluster) count; no hashing
        // here (it runs every few minutes): sizes, links and the last recorded checksum verdict.
        BackupCatalog catalog;
        try {
            catalog = BackupCatalog.of(repo);
        } catch (dev.chronodr.core.ChronoException e) {
            // a bucket that cannot be read (endpoint down, credentials): the check cannot judge, in one line
            return CheckOutcome.of(name(), Status.UNKNOWN, e.getMessage());
        }
        List<StoredBackup> covering = catalog.covering(db);
        Optional<StoredBackup> newest = BackupCatalog.newestRestorable(covering).filter(b -> b.time() != null);
        Optional<StoredBackup> unusableNewer = covering.stream().findFirst().filter(b -> !b.state().restorable());
        String warning = unusableNewer.map(b -> "; the newest backup " + b.id() + " is " + b.state().label() + ": " + b.reason()).orElse("");
        List<Metric> metrics = new ArrayList<>();
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("repository", repo.location());
        unusableNewer.ifPresent(b -> {
            item.put("newest_unusable_backup", b.id());
            item.put("newest_unusable_state", b.state().label());
        });

        PitrCatalog pitr = PitrCatalog.of(repo).onlyRestorable(catalog);
        Optional<WalArchive.Entry> newestWal = pitr.newestSegment();
        if (!pitr.bases().isEmpty() && newestWal.isPresent()) {
            Threshold t = ctx.threshold("wal_age");
            double age = Duration.between(newestWal.get().archivedAt(), now).toMillis() / 1000.0;
            Status s = atLeastWarning(t.status(age), unusableNewer.isPresent());
            metrics.add(new Metric("wal_age", age, Unit.SECONDS, Map.of(), t.warning(), t.critical(),
                    "seconds since the newest WAL segment was archived"));
            // The RPO is the WAL's age here; the newest backup's age is a figure, not judged.
            newest.ifPresent(b -> metrics.add(Metric.of("backup_age", Duration.between(b.time().toInstant(), now).toMillis() / 1000.0,
                    Unit.SECONDS, "seconds since the newest good backup finished")));
            metrics.addAll(repositoryFigures(covering, newest));
            String base = pitr.newestBase().get().id();
            item.put("newest_wal", newestWal.get().name());
            item.put("newest_base_backup", base);
            return new CheckOutcome(name(), s, "point-in-time recovery reaches " + Unit.SECONDS.format(age) + " ago (WAL "
                    + newestWal.get().name() + ", base backup " + base + ", " + verified(catalog, base) + ")"
                    + (t.status(age) == Status.OK ? "" : ", " + t.describe(t.status(age)) + ": is archive_command failing?") + warning,
                    metrics, List.of(item));
        }
        if (newest.isEmpty()) {
            metrics.addAll(repositoryFigures(covering, newest));
            return new CheckOutcome(name(), Status.CRITICAL, (covering.isEmpty() ? "no backup of " : "no restorable backup of ") + db + " in " + repo.location()
                    + warning + ": take one with chrono-dr backup", metrics, List.of(item));
        }
        Threshold t = ctx.threshold("backup_age");
        double age = Duration.between(newest.get().time().toInstant(), now).toMillis() / 1000.0;
        Status s = atLeastWarning(t.status(age), unusableNewer.isPresent());
        metrics.add(new Metric("backup_age", age, Unit.SECONDS, Map.of(), t.warning(), t.critical(),
                "seconds since the newest good backup finished"));
        metrics.addAll(repositoryFigures(covering, newest));
        item.put("newest_backup", newest.get().id());
        item.put("state", newest.get().state().label());
        if (newest.get().verifiedAt() != null) {
            item.put("verified_at", newest.get().verifiedAt().toString());
        }
        return new CheckOutcome(name(), s, "newest good backup " + newest.get().id() + " is " + Unit.SECONDS.format(age) + " old ("
                + verified(catalog, newest.get().id()) + ")"
                + (t.status(age) == Status.OK ? "" : ", " + t.describe(t.status(age)) + ": is the backup cron job running?")
                + (newest.get().legacy() ? " (a legacy file without a manifest)" : "") + warning, metrics, List.of(item));
    }

    /** What the repository holds for this database, for dashboards: restorable backups, and the newest good one's size. */
    private static List<Metric> repositoryFigures(List<StoredBackup> covering, Optional<StoredBackup> newest) {
        List<Metric> m = new ArrayList<>();
        m.add(Metric.of("backup_count", covering.stream().filter(b -> b.state().restorable()).count(), Unit.COUNT,
                "restorable backups of this database (its own and base backups of its cluster) in the repository"));
        newest.ifPresent(b -> m.add(Metric.of("backup_size", b.bytes(), Unit.BYTES, "size of the newest good backup")));
        return m;
    }

    /** A repository whose newest backup cannot be restored is at least a WARNING, however fresh the one before. */
    private static Status atLeastWarning(Status s, boolean newestUnusable) {
        return newestUnusable && s == Status.OK ? Status.WARNING : s;
    }

    private static String verified(BackupCatalog catalog, String id) {
        return catalog.all().stream().filter(b -> b.id().equals(id)).findFirst()
                .map(b -> b.verifiedAt() == null ? "checksums never verified" : "checksums verified " + b.verifiedAt())
                .orElse("checksums never verified");
    }
}
