package dev.chronodr.restore;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.backup.BackupRequest;
import dev.chronodr.backup.BackupService;
import dev.chronodr.backup.BackupType;
import dev.chronodr.config.Target;
import dev.chronodr.repo.Compression;

/**
 * --in-place, when there is no disk for two copies: a safety backup of the live database, then
 * DROP it, recreate it with its properties and restore into it. Nothing to fall back on but the
 * safety backup, which the result names.
 */
final class InPlaceRestore {
    private final Target target;
    private final ApplicationServices services;
    private final BackupService backups;

    InPlaceRestore(Target target, ApplicationServices services, BackupService backups) {
        this.target = target;
        this.services = services;
        this.backups = backups;
    }

    RestoreResult run(RestoreContext c) throws SQLException {
        Connection admin = c.admin();
        String live = c.live();
        List<String> notes = c.notes();
        notes.add("IN-PLACE: the live database " + live + " was DROPPED and recreated; there was no copy to fall back on but the safety backup");
        long t = System.nanoTime();
        String safety = null;
        DatabaseProperties kept = DatabaseProperties.capture(admin, live);
        if (kept != null) {
            var backup = backups.backup(target,
                    new BackupRequest(BackupType.FULL, List.of(), "safety backup before in-place restore", Compression.DEFAULT, null));
            safety = backup.manifest().id();
            notes.add("safety backup taken first: " + safety + " (" + backup.path() + ")");
            c.phase("safety backup", t);
        }
        boolean created = false;
        services.stop();
        try {
            if (safety != null) {
                t = System.nanoTime();
                DatabaseSwap.blockConnections(admin, live);
                DatabaseSwap.terminate(admin, live);
                Databases.drop(admin, live);
                c.phase("drop", t);
            }
            t = System.nanoTime();
            Databases.create(admin, live, kept);
            created = true;
            c.loader().load(c.tools(), c.source(), live, c.jobs(), c.toc());
            c.phase("restore", t);
        } finally {
            // Who may connect is set again before the applications come back, even after a failed restore.
            if (created && kept != null) {
                notes.addAll(kept.applyTo(admin, live));
                try {
                    Databases.exec(admin, kept.commentSql(live));
                } catch (SQLException e) {
                    notes.add("could not keep the comment: " + e.getMessage());
                }
            }
            services.start();
            notes.addAll(services.log());
        }
        Verification v = c.verify(live);
        if (kept != null) {
            kept.differences(DatabaseProperties.capture(admin, live), true).forEach(d -> notes.add("database property not kept: " + d));
        }
        List<String> next = new ArrayList<>();
        next.add(services.nextStep(live, ""));
        if (safety != null) {
            next.add("if this restore is wrong, restore the safety backup: chrono-dr restore --backup-id " + safety + " --yes");
        }
        boolean ok = v == null || v.ok();
        return new RestoreResult(ok, c.mode(), c.source(), live, null, null, c.toc(), c.jobs(), c.phases(), v, c.notes(), List.of(), next,
                ok ? null : "verification failed after an in-place restore");
    }
}
