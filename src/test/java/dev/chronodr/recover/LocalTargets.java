package dev.chronodr.recover;

import java.util.HashMap;
import java.util.Map;

import dev.chronodr.testing.PgCluster;

/** What the recover tests on a local cluster share. */
final class LocalTargets {
    private LocalTargets() {
    }

    /**
     * A new database {@code db} with a users table of 500 rows, committed synchronously and
     * checkpointed after the commit: the test cluster commits asynchronously, and a kill -9
     * must not take the rows with it.
     */
    static void usersThatSurviveACrash(PgCluster pg, String db) {
        pg.createDatabase(db);
        pg.execute(db, "SET synchronous_commit = on; CREATE TABLE users (id int PRIMARY KEY); INSERT INTO users SELECT generate_series(1, 500)");
        pg.execute(db, "CHECKPOINT");
    }

    /** The CLI's environment with the password only: host, port and database come from the config. */
    static Map<String, String> passwordOnly(PgCluster pg, String db) {
        Map<String, String> env = new HashMap<>(pg.env(db));
        env.keySet().removeIf(k -> k.startsWith("PG") && !k.equals("PGPASSWORD"));
        return env;
    }
}
