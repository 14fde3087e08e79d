package dev.chronodr.wal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.PgCluster;

/**
 * What the tests of a real archiving server beside a wal-archiver share: the daemon run as postgres (as the
 * server runs wal-push), WAL written and switched, waiting for the archiver, and tearing it all down.
 */
final class ArchivingCluster {
    private ArchivingCluster() {
    }

    static void give(Path p) throws IOException {
        UserPrincipal u = p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        Files.setOwner(p, u);
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** {@code wal-archiver --repo REPO} as postgres, its output in {@code log}, once it says it is serving. */
    static Process daemon(Path launcher, Path repo, Path log, List<Process> started) throws Exception {
        Process p = new ProcessBuilder("runuser", "-u", "postgres", "--", launcher.toString(), "wal-archiver", "--repo", repo.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        started.add(p);
        for (int i = 0; i < 3000 && !read(log).contains("serving"); i++) {
            assertTrue(p.isAlive(), () -> "the daemon exited: " + read(log));
            Thread.sleep(10);
        }
        assertTrue(read(log).contains("serving"), () -> read(log));
        return p;
    }

    /** Writes some WAL into {@code db}'s table t and closes the segment; its name. */
    static String writeAndSwitch(LocalCluster pg, String db) {
        pg.execute(db, "INSERT INTO t (pad) SELECT repeat('x', 200) FROM generate_series(1, 2000)");
        return PgCluster.wrap(pg).query(db, "SELECT pg_walfile_name(pg_switch_wal()) AS w").get(0).get("w").toString();
    }

    /** One column of pg_stat_archiver. */
    static Object archiver(LocalCluster pg, String column) {
        return PgCluster.wrap(pg).query("postgres", "SELECT " + column + " AS v FROM pg_stat_archiver").get(0).get("v");
    }

    static void awaitArchived(LocalCluster pg, String segment) throws InterruptedException {
        for (int i = 0; i < 1200; i++) {
            Object last = archiver(pg, "last_archived_wal");
            if (last != null && last.toString().compareTo(segment) >= 0) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("not archived within 60 s: " + segment);
    }

    /** Kills the daemons (and the JVMs under runuser), removes the clusters, deletes {@code tmp}. */
    static void tearDown(List<Process> daemons, Path tmp, LocalCluster... clusters) throws Exception {
        for (Process p : daemons) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        for (LocalCluster c : clusters) {
            if (c != null) {
                c.remove();
            }
        }
        if (tmp != null) {
            try (var walk = Files.walk(tmp)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
