package dev.chronodr.backup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Comparator;
import java.util.Optional;

import dev.chronodr.config.Target;
import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Progress;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.Lsn;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StoredBackup;
import dev.chronodr.repo.WalArchive;

/**
 * {@code backup --type incremental}. On PostgreSQL 17 or newer with {@code summarize_wal = on}:
 * a real incremental base backup, {@code pg_basebackup --incremental} against the
 * backup_manifest of the newest restorable base backup (full or incremental) of the same
 * cluster and timeline whose chain is whole, stored like a physical backup with that parent
 * recorded in its physical.json. Otherwise the WAL switch: with WAL archiving every change
 * since the base backup is already an increment in the archive, except the segment being
 * written; this closes it (pg_switch_wal), waits until the archiver has pushed it, and
 * reports the moment now recoverable. The result says which ran and why.
 */
public final class IncrementalBackupService {
    private static final String SWITCH = """
            SELECT lsn::text, pg_walfile_name(lsn), now(), current_setting('archive_mode'),
                   (SELECT setting::int FROM pg_settings WHERE name = 'wal_segment_size')
              FROM pg_switch_wal() AS lsn
            """;
    /** summarize_wal exists from 17 on; the timeline and system identifier pick the parent. */
    private static final String NATIVE = """
            SELECT current_setting('summarize_wal'), (SELECT system_identifier FROM pg_control_system()),
                   (SELECT timeline_id FROM pg_control_checkpoint())
            """;
    static final int NATIVE_FROM = 170000;

    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final Progress progress;
    private final String version;
    private final Duration archiveWait;

    public IncrementalBackupService(ProcessRunner runner, ToolLocator locator, Progress progress, String chronoDrVersion,
                                    Duration archiveWait) {
        this.runner = runner;
        this.locator = locator;
        this.progress = progress;
        this.version = chronoDrVersion;
        this.archiveWait = archiveWait;
    }

    public IncrementalResult run(Target target, String label, Compression compression) {
        Repository repo = Repository.open(target.repo());
        PitrCatalog pitr = PitrCatalog.of(repo).onlyRestorable(BackupCatalog.of(repo));
        PhysicalBackupInfo newest = pitr.newestBase().orElseThrow(() -> ChronoException.failed(
                "no base backup in " + repo.location() + ": an incremental backup needs one to apply to",
                "take one first: chrono-dr backup --type physical"));
        String why;
        try (Connection c = Database.connect(target.connection())) {
            ServerInfo server = ServerInfo.probe(c);
            if (server.version().num() < NATIVE_FROM) {
                why = "PostgreSQL " + server.version().major() + " has no incremental base backups (they start with 17)";
            } else {
                Native n = Native.read(c);
                if (!n.summarizing()) {
                    why = "summarize_wal is off on this server (pg_basebackup --incremental needs it: ALTER SYSTEM SET summarize_wal = on;"
                            + " SELECT pg_reload_conf(); then take a full base backup)";
                } else {
                    PhysicalBackupInfo parent = parentFor(pitr, n).orElseThrow(() -> ChronoException.failed("no restorable base backup"
                            + " of this cluster (system identifier " + n.sysId() + ") on timeline " + n.timeline() + " in " + repo.location()
                            + " to take an incremental backup against", "take a full one first: chrono-dr backup --type physical"));
                    return nativeBackup(target, repo, parent, label, compression);
                }
            }
        } catch (SQLException e) {
            throw ChronoException.failed("incremental backup failed: " + e.getMessage(), null, e);
        }
        return walSwitch(target, repo, newest, why);
    }

    private record Native(boolean summarizing, long sysId, int timeline) {
        static Native read(Connection c) throws SQLException {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(NATIVE)) {
                rs.next();
                return new Native("on".equals(rs.getString(1)), rs.getLong(2), rs.getInt(3));
            }
        }
    }

    /**
     * The newest base backup of this cluster and timeline whose chain is whole: the server
     * answers an incremental request with the blocks changed since that backup's start.
     */
    private static Optional<PhysicalBackupInfo> parentFor(PitrCatalog pitr, Native n) {
        return pitr.bases().stream()
                .filter(b -> b.systemIdentifier() == n.sysId() && b.timeline() == n.timeline())
                .filter(b -> pitr.chain(b).whole())
                .max(Comparator.comparing(PhysicalBackupInfo::stopTime));
    }

    private IncrementalResult nativeBackup(Target target, Repository repo, PhysicalBackupInfo parent, String label, Compression compression) {
        // pg_basebackup --incremental reads the parent's backup_manifest from a file: from a bucket it is copied
        // (checked against its SHA-256) into a private directory in the spool first, removed at the end in any case
        Path copied = repo.remote() ? parentSpool(parent) : null;
        try {
            Path manifest = copied == null ? repo.root().resolve(parent.id()).resolve(PhysicalBackupInfo.PG_MANIFEST)
                    : fetchManifest(repo, parent, copied);
            if (!Files.isRegularFile(manifest)) {
                throw ChronoException.failed("base backup " + parent.id() + " has no " + PhysicalBackupInfo.PG_MANIFEST
                        + ", which pg_basebackup --incremental needs", "take a full one: chrono-dr backup --type physical");
            }
            return nativeBackup(target, parent, manifest, label, compression);
        } finally {
            Repository.removeSpooled(copied);
        }
    }

    private IncrementalResult nativeBackup(Target target, PhysicalBackupInfo parent, Path manifest, String label, Compression compression) {
        String shown = label != null ? label + "; incremental of " + parent.id() : "incremental of " + parent.id();
        PhysicalBackupResult r;
        try {
            r = new PhysicalBackupService(runner, locator, progress, version, archiveWait)
                    .incrementalOf(new IncrementalParent(parent.id(), manifest)).backup(target, shown, compression);
        } catch (ChronoException e) {
            if (String.valueOf(e.getMessage()).contains("WAL summar")) {
                throw ChronoException.failed(e.getMessage(), "the server has no WAL summaries back to base backup " + parent.id()
                        + "'s start (summarize_wal was turned on later, or wal_summary_keep_time removed them): take a full one,"
                        + " chrono-dr backup --type physical", e);
            }
            throw e;
        }
        return IncrementalResult.nativeBackup(r, parent.id());
    }

    /** PID-incremental-ID in the spool, private: a killed run's is removed by the next run that copies into the spool. */
    private static Path parentSpool(PhysicalBackupInfo parent) {
        Path dir = Repository.spoolDirectory().resolve(ProcessHandle.current().pid() + "-incremental-"
                + parent.id().replaceAll("[^A-Za-z0-9_.-]", "_"));
        try {
            Files.createDirectories(dir.getParent(), AtomicFile.privateDir());
            Repository.removeSpooled(dir);
            return Files.createDirectory(dir, AtomicFile.privateDir());
        } catch (IOException e) {
            throw ChronoException.failed("cannot make a spool directory for base backup " + parent.id() + "'s backup_manifest at " + dir
                    + ": " + e.getMessage(), "CHRONO_DR_SPOOL chooses another directory");
        }
    }

    /**
     * The parent's backup_manifest out of the bucket, checked against the SHA-256 its manifest
     * records (a mismatch: exit 2, no backup taken). It is stored as it is, never encrypted
     * (only the tars are): pg_basebackup reads it as it is.
     */
    private static Path fetchManifest(Repository repo, PhysicalBackupInfo parent, Path dir) {
        StoredBackup stored = repo.find(parent.id()).orElseThrow(() -> ChronoException.failed("base backup " + parent.id()
                + " is no longer in " + repo.location(), "run the incremental backup again"));
        Path manifest = dir.resolve(PhysicalBackupInfo.PG_MANIFEST);
        repo.copyFile(stored, PhysicalBackupInfo.PG_MANIFEST, manifest);
        return manifest;
    }

    private IncrementalResult walSwitch(Target target, Repository repo, PhysicalBackupInfo base, String why) {
        try (Connection c = Database.connect(target.connection()); Statement st = c.createStatement()) {
            ArchiverWatch archiver = ArchiverWatch.start(c); // before the switch: the segment it closes is the one awaited
            String lsn;
            String file;
            OffsetDateTime at;
            try (ResultSet rs = st.executeQuery(SWITCH)) {
                rs.next();
                if ("off".equals(rs.getString(4))) {
                    throw ChronoException.failed("WAL archiving is off on this server", "run 'chrono-dr pitr setup --apply' and restart PostgreSQL");
                }
                lsn = rs.getString(1);
                // With nothing written since the last switch (say, right after a base backup) pg_switch_wal switches
                // nothing and returns the start of the segment in use, which pg_walfile_name names: that one will not
                // be archived until it fills. The segment closed last is the one before that LSN.
                file = Lsn.parse(lsn).segmentBefore(Integer.parseUnsignedInt(rs.getString(2).substring(0, 8), 16), rs.getInt(5));
                at = rs.getObject(3, OffsetDateTime.class);
            }
            long t0 = System.nanoTime();
            WalArchive archive = new WalArchive(repo);
            archiver.await(archive, file, "closed by this incremental backup", archiveWait, Progress.NONE);
            String reason = "No incremental base backup: " + why + ". With WAL archiving every change is already archived as WAL; "
                    + "the segment in progress was closed and archived, so everything committed before " + at + " is recoverable"
                    + " from base backup " + base.id() + " plus the WAL archive.";
            return new IncrementalResult("wal-switch", reason, base.id(), lsn, file, at, (System.nanoTime() - t0) / 1_000_000, null);
        } catch (SQLException e) {
            throw ChronoException.failed("incremental backup failed: " + e.getMessage(),
                    "pg_switch_wal needs a superuser or GRANT EXECUTE, and a primary (not a standby)", e);
        }
    }
}
