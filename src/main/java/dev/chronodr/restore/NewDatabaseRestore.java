package dev.chronodr.restore;

import java.sql.SQLException;
import java.util.List;

import dev.chronodr.pg.Identifiers;

/** --target-db: restore into a new database beside the live one, which is never touched. */
final class NewDatabaseRestore {

    RestoreResult run(RestoreContext c) throws SQLException {
        String db = c.plan().restoredInto();
        String live = c.live();
        long t = System.nanoTime();
        Databases.create(c.admin(), db, DatabaseProperties.capture(c.admin(), live));
        c.loadOrDrop(db);
        c.phase("restore", t);
        Verification v = c.verify(db);
        if (v != null && !v.ok()) {
            return new RestoreResult(false, c.mode(), c.source(), db, null, null, c.toc(), c.jobs(), c.phases(), v, c.notes(), List.of(),
                    List.of("inspect " + db + "; drop it when done: DROP DATABASE " + Identifiers.quote(db) + ";"),
                    "verification failed; " + db + " is left for inspection");
        }
        return new RestoreResult(true, c.mode(), c.source(), db, null, null, c.toc(), c.jobs(), c.phases(), v, c.notes(), List.of(),
                List.of("connect to " + db + " to inspect or copy data; the live database " + live + " was not touched",
                        "drop it when done: DROP DATABASE " + Identifiers.quote(db) + ";"), null);
    }
}
