package dev.chronodr.restore;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.PgTools;
import dev.chronodr.restore.RestoreResult.Phase;

/**
 * What every mode works with once the backup passed its checks: the plan, the checked source
 * (possibly with its unpacked copy), the maintenance connection, the tools, the loader, the jobs
 * that will really run, the archive's entry count, and the phases and notes gathered so far.
 */
record RestoreContext(RestorePlan plan, RestoreSource source, Connection admin, PgTools tools, DumpLoader loader, int jobs, int toc,
                      List<Phase> phases, List<String> notes) {

    String live() {
        return plan.database();
    }

    String mode() {
        return plan.mode().label();
    }

    /** Loads the dump into {@code db}; a failed load drops {@code db}, a new database of no use to anyone. */
    void loadOrDrop(String db) {
        loader.loadOrDrop(admin, tools, source, db, jobs, toc);
    }

    void phase(String name, long startNanos) {
        phases.add(new Phase(name, (System.nanoTime() - startNanos) / 1_000_000));
    }

    /** Row counts against the manifest and foreign-key orphans in {@code db}; null with --no-verify. */
    Verification verify(String db) {
        if (!plan.request().verify()) {
            return null;
        }
        long t = System.nanoTime();
        try (Connection c = Database.connect(tools.connection().withDbname(db))) {
            // The database's own settings (kept from the live one) may limit sessions; not this one.
            Databases.exec(c, "SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0");
            Verification v = Verification.run(c, source.manifest() == null ? null : source.manifest().tables());
            phase("verify", t);
            return v;
        } catch (SQLException e) {
            throw ChronoException.failed("verification of " + db + " could not run: " + e.getMessage(), "inspect " + db + " by hand", e);
        }
    }
}
