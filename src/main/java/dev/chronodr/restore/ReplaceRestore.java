package dev.chronodr.restore;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.pgbouncer.PgBouncerPause;

/**
 * The default: restore into a marked staging database, verify it, give it the live database's
 * properties, then swap it in ({@link DatabaseSwap}) with the applications stopped. The live
 * database stays under its name until the swap, and is kept under the planned previous name after.
 */
final class ReplaceRestore {
    private final ApplicationServices services;
    private final DatabaseSwap swap;

    /** PgBouncer's PAUSE/RESUME around the swap instead of stopping the services; null when not configured. */
    private final PgBouncerPause pause;

    ReplaceRestore(ApplicationServices services, DatabaseSwap swap, PgBouncerPause pause) {
        this.services = services;
        this.swap = swap;
        this.pause = pause;
    }

    RestoreResult run(RestoreContext c) throws SQLException {
        Connection admin = c.admin();
        String live = c.live();
        String staging = c.plan().stagingDatabase();
        String previous = c.plan().previousDatabase();
        if (Databases.exists(admin, staging) || Databases.exists(admin, previous)) {
            throw ChronoException.failed("database " + staging + " or " + previous + " already exists", "wait a second and run again");
        }
        long t = System.nanoTime();
        Databases.create(admin, staging, DatabaseProperties.capture(admin, live));
        try {
            StagingDatabases.mark(admin, staging);
        } catch (SQLException e) {
            Databases.drop(admin, staging);
            throw e;
        }
        c.loadOrDrop(staging);
        c.phase("restore", t);
        Verification v = c.verify(staging);
        if (v != null && !v.ok()) {
            // Left for the user to inspect: no longer a leftover for the next restore to drop.
            Databases.exec(admin, "COMMENT ON DATABASE " + Identifiers.quote(staging) + " IS " + RestoreService.literal(
                    "restored copy of " + live + " left by chrono-dr for inspection after a failed verification; drop it when done"));
            return new RestoreResult(false, c.mode(), c.source(), live, staging, null, c.toc(), c.jobs(), c.phases(), v, c.notes(), List.of(),
                    List.of("the live database " + live + " was not touched",
                            "inspect the restored copy in " + staging + "; drop it when done: DROP DATABASE " + Identifiers.quote(staging) + ";"),
                    "verification failed; live database untouched, restored copy left in " + staging);
        }
        t = System.nanoTime();
        // What belongs to the database, not to the dump (owner, ACL, settings...), goes onto the
        // copy now, after the restore and its verification ran without those settings.
        DatabaseProperties kept = DatabaseProperties.capture(admin, live);
        if (kept != null) {
            c.notes().addAll(kept.applyTo(admin, staging));
            DatabaseProperties staged = DatabaseProperties.capture(admin, staging);
            kept.differences(staged, false).forEach(d -> c.notes().add("database property not kept: " + d));
        }
        boolean hadLive;
        // Where configured, PgBouncer holds the applications' queries instead of their being stopped.
        if (pause != null) {
            pause.pause();
        } else {
            services.stop();
        }
        try {
            hadLive = swap.swap(admin, live, staging, previous, kept);
        } finally {
            // Back up either way: on the restored database, or on the untouched one if the swap failed.
            if (pause != null) {
                pause.resume();
                c.notes().addAll(pause.log());
            } else {
                services.start();
                c.notes().addAll(services.log());
            }
        }
        c.phase("swap", t);
        if (!hadLive) {
            c.notes().add("database " + live + " did not exist; the restored database was given its name");
            return new RestoreResult(true, c.mode(), c.source(), live, staging, null, c.toc(), c.jobs(), c.phases(), v, c.notes(), List.of(),
                    List.of("start the applications that use " + live), null);
        }
        String rolled = RestoreService.derivedName(live, "_restored_" + c.plan().stamp());
        return new RestoreResult(true, c.mode(), c.source(), live, staging, previous, c.toc(), c.jobs(), c.phases(), v, c.notes(),
                DatabaseSwap.rollback(live, previous, rolled),
                List.of(pause != null ? "check that the applications reaching " + live + " through PgBouncer answer (it was paused and resumed)"
                                : services.nextStep(live, " (their sessions were ended)"),
                        "when satisfied, drop the previous database: DROP DATABASE " + Identifiers.quote(previous) + ";"), null);
    }
}
