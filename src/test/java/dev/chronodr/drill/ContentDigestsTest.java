package dev.chronodr.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.chronodr.pg.TableDigest;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * The drill's content digests, read table by table on a connection of their own: a table
 * that cannot be read, or that nobody read, is a problem, never a silent pass.
 */
@PostgresTest
class ContentDigestsTest {
    private static final String DB = "digests_db";
    private static final Duration PATIENT = Duration.ofMinutes(1);

    private static BackupManifest.TableEntry entry(PgCluster pg, String table) throws Exception {
        return entry(pg, DB, table);
    }

    /** The manifest's entry for a table of {@code db} as it is now: what a backup would have recorded. */
    private static BackupManifest.TableEntry entry(PgCluster pg, String db, String table) throws Exception {
        try (Connection c = pg.connect(db)) {
            c.setAutoCommit(false);
            TableDigest.Digest d = TableDigest.like(c, "public", table, "c256:");
            c.rollback();
            return new BackupManifest.TableEntry("public", table, d.rows(), d.value());
        }
    }

    /** Another session holds the table exclusively, as pg_restore does while it builds a primary key; rolled back to let go. */
    private static Connection holdExclusively(PgCluster pg, String db, String table) throws Exception {
        Connection holder = pg.connect(db);
        holder.setAutoCommit(false);
        try (Statement st = holder.createStatement()) {
            st.execute("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
        }
        return holder;
    }

    @Test
    void matchesDifferencesAndTablesThatCannotBeReadAreAllAccountedFor(PgCluster pg) throws Exception {
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE a (id int); INSERT INTO a SELECT generate_series(1, 100);"
                + "CREATE TABLE b (t text); INSERT INTO b VALUES ('x'), ('y')");
        BackupManifest.TableEntry a = entry(pg, "a");
        BackupManifest.TableEntry b = entry(pg, "b");
        assertTrue(a.digest().startsWith("c256:"), a.toString());

        try (ContentDigests same = new ContentDigests(pg.connection(DB), List.of(a, b), PATIENT)) {
            same.loaded("public", "a"); // announced: read at once; b is read by finish()
            same.loaded("public", "a"); // announced twice: read once
            same.loaded("public", "no_such_table"); // not one of ours: ignored
            assertEquals(List.of(), same.finish());
            assertEquals(1, same.announced());
        }

        pg.execute(DB, "UPDATE b SET t = 'z' WHERE t = 'y'");
        try (ContentDigests changed = new ContentDigests(pg.connection(DB), List.of(a, b), PATIENT)) {
            assertEquals(List.of("public.b: content differs from the backup's (2 rows restored, 2 in the backup)"), changed.finish());
        }

        // the database is gone (a connection refused, an unchecked error in the driver's layer): one problem per table
        try (ContentDigests gone = new ContentDigests(pg.connection("digests_no_such_db"), List.of(a, b), PATIENT)) {
            gone.loaded("public", "b");
            List<String> problems = gone.finish();
            assertEquals(2, problems.size(), problems.toString());
            assertTrue(problems.stream().allMatch(p -> p.contains(": could not be read: ")), problems.toString());
        }

        // stopped before finishing (the restore failed): nothing passes for compared
        ContentDigests stopped = new ContentDigests(pg.connection(DB), List.of(a, b), PATIENT);
        stopped.failed();
        List<String> problems = stopped.finish();
        assertEquals(List.of("2 table(s) were not compared"), problems);
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void whileTheRestoreRunsATableItHoldsIsReadAfterItNotWaitedFor(PgCluster pg) throws Exception {
        pg.createDatabase(DB + "_held");
        pg.execute(DB + "_held", "CREATE TABLE \"it's held\" (id int); INSERT INTO \"it's held\" SELECT generate_series(1, 50);"
                + "CREATE TABLE free (t text); INSERT INTO free VALUES ('x')");
        BackupManifest.TableEntry held = entry(pg, DB + "_held", "it's held");
        BackupManifest.TableEntry free = entry(pg, DB + "_held", "free");
        Connection holder = holdExclusively(pg, DB + "_held", "\"it's held\"");
        try (ContentDigests digests = new ContentDigests(pg.connection(DB + "_held"), List.of(held, free), PATIENT)) {
            digests.loaded("public", "it's held"); // tried first, on the one reading thread
            digests.loaded("public", "free");
            // had the held table been waited for, the free one would not be read before the lock goes
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (digests.readEarly() < 1 && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            assertEquals(1, digests.readEarly(), "the free table is read while the other is held");
            holder.rollback(); // the restore lets the table go
            digests.restoreEnded();
            assertEquals(List.of(), digests.finish());
            assertEquals(1, digests.readEarly(), "the held table is read after the restore, and compared");
            assertEquals(2, digests.announced());
        } finally {
            holder.close();
        }
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void aServerThatSendsNothingEndsTheReadingWithEveryTableAProblem(PgCluster pg) throws Exception {
        pg.createDatabase(DB + "_silent");
        pg.execute(DB + "_silent", "CREATE TABLE a (id int); INSERT INTO a VALUES (1); CREATE TABLE b (id int); INSERT INTO b VALUES (2)");
        BackupManifest.TableEntry a = entry(pg, DB + "_silent", "a");
        BackupManifest.TableEntry b = entry(pg, DB + "_silent", "b");
        // after the restore nothing of the drill's own holds a table: a wait there is a server that does not answer
        Connection holder = holdExclusively(pg, DB + "_silent", "a");
        try (ContentDigests digests = new ContentDigests(pg.connection(DB + "_silent"), List.of(a, b), Duration.ofSeconds(2))) {
            digests.restoreEnded();
            long t0 = System.nanoTime();
            List<String> problems = digests.finish();
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
            assertEquals(List.of("public.a: could not be read: the server sent nothing for 2.0 s (hung, or the table locked by another session)",
                    "public.b: not read: the server had sent nothing for 2.0 s"), problems);
            assertTrue(seconds < 30, "finish() gave up after the silence, not later: " + seconds + " s");
        } finally {
            holder.rollback();
            holder.close();
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aServerThatStopsInTheMiddleOfATablesCopyTextEndsTheReading(PgCluster pg) throws Exception {
        assumeTrue(pg.isLocal(), "stops a backend of a cluster on this machine");
        String db = DB + "_stopped";
        pg.createDatabase(db);
        // about 150 MB of COPY text: long enough to be stopped while it streams
        pg.execute(db, "CREATE TABLE big (id int, t text); INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 1500000) g;"
                + "CREATE TABLE after (id int); INSERT INTO after VALUES (1)");
        BackupManifest.TableEntry big = entry(pg, db, "big");
        BackupManifest.TableEntry after = entry(pg, db, "after");
        // The stop must land while big's COPY streams; one that lands after it ended leaves nothing to prove: try again.
        for (int attempt = 1; attempt <= 5; attempt++) {
            try (ContentDigests digests = new ContentDigests(pg.connection(db), List.of(big, after), Duration.ofSeconds(2));
                 Connection watcher = pg.connect(db)) {
                digests.restoreEnded();
                CompletableFuture<List<String>> done = CompletableFuture.supplyAsync(() -> {
                    try {
                        return digests.finish();
                    } catch (java.sql.SQLException ex) {
                        throw new IllegalStateException(ex);
                    }
                });
                long pid = 0;
                try (var ps = watcher.prepareStatement("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        + " AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE 'COPY %'")) {
                    while (pid == 0 && !done.isDone()) {
                        try (var rs = ps.executeQuery()) {
                            pid = rs.next() ? rs.getLong(1) : 0;
                        }
                    }
                }
                if (pid == 0) {
                    done.get(60, TimeUnit.SECONDS);
                    continue; // read whole before it could be seen
                }
                signal("STOP", pid);
                List<String> problems;
                try {
                    problems = done.get(90, TimeUnit.SECONDS);
                } finally {
                    signal("CONT", pid);
                }
                if (problems.isEmpty()) {
                    continue; // the COPY had ended before the stop
                }
                assertEquals(List.of("public.big: could not be read: the server sent nothing for 2.0 s (hung, or the table locked by another session)",
                        "public.after: not read: the server had sent nothing for 2.0 s"), problems);
                return;
            }
        }
        throw new AssertionError("no attempt stopped the server while big's COPY text streamed");
    }

    private static void signal(String sig, long pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).redirectErrorStream(true).start();
        assertEquals(0, p.waitFor(), new String(p.getInputStream().readAllBytes()));
    }
}
