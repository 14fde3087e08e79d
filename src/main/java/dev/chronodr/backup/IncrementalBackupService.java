package dev.chronodr.backup;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Database;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;

/**
 * With WAL archiving, every change since the base backup is already an increment in the
 * archive; what is missing is the segment being written. This closes it (pg_switch_wal),
 * waits until the archiver has pushed it, and reports the moment now recoverable.
 * PostgreSQL 17's native incremental base backup (pg_basebackup --incremental plus
 * pg_combinebackup) is not used: see docs/pitr.md.
 */
public final class IncrementalBackupService {
    private static final String SWITCH = """
            SELECT lsn::text, pg_walfile_name(lsn), now(), current_setting('archive_mode')
              FROM pg_switch_wal() AS lsn
            """;

    private final Duration archiveWait;

    public IncrementalBackupService(Duration archiveWait) {
        this.archiveWait = archiveWait;
    }

    public IncrementalResult run(Target target) {
        target.repo().path("an incremental backup");
        Repository repo = Repository.open(target.repo());
        PhysicalBackupInfo base = PitrCatalog.of(repo.root()).onlyRestorable(dev.chronodr.repo.BackupCatalog.of(repo)).newestBase()
                .orElseThrow(() -> ChronoException.failed(
                "no base backup in " + repo.location() + ": an incremental backup needs one to apply to",
                "take one first: chrono-dr backup --type physical"));
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
                file = rs.getString(2);
                at = rs.getObject(3, OffsetDateTime.class);
            }
            long t0 = System.nanoTime();
            WalArchive archive = new WalArchive(repo.root());
            archiver.await(archive, file, "closed by this incremental backup", archiveWait, dev.chronodr.core.Progress.NONE);
            String reason = "With WAL archiving every change is already archived as WAL; "
                    + "the segment in progress was closed and archived, so everything committed before " + at + " is recoverable"
                    + " from base backup " + base.id() + " plus the WAL archive.";
            return new IncrementalResult("wal-switch", reason, base.id(), lsn, file, at, (System.nanoTime() - t0) / 1_000_000);
        } catch (SQLException e) {
            throw ChronoException.failed("incremental backup failed: " + e.getMessage(),
                    "pg_switch_wal needs a superuser or GRANT EXECUTE, and a primary (not a standby)", e);
        }
    }
}
