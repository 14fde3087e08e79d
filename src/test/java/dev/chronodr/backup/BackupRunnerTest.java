package dev.chronodr.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Progress;
import dev.chronodr.repo.Compression;
import dev.chronodr.report.CommandResult;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * BackupRunner prunes only after a logical backup that succeeded: a failed one leaves every
 * backup where it was. Two real backups in the repository; the logical step is a stand-in.
 */
@PostgresTest
class BackupRunnerTest {
    @TempDir
    Path dir;

    private List<String> ids(PgCluster pg, String db, Path repo) {
        CliRun list = CliRun.run(pg.env(db), dir, "list", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, list.exitCode(), list.toString());
        List<String> ids = new ArrayList<>();
        list.json().get("backups").forEach(b -> ids.add(b.get("id").asText()));
        return ids;
    }

    private static BackupRunner runner(BackupRunner.Logical logical) {
        return new BackupRunner(null, null, Progress.NONE, "test", logical, Clock::now);
    }

    private static BackupRequest keepNothingOld() {
        return new BackupRequest(BackupType.FULL, List.of(), null, Compression.DEFAULT, 0);
    }

    @Test
    void retentionRunsOnlyAfterASuccessfulBackup(PgCluster pg) throws Exception {
        String db = pg.createDatabase("runner_db");
        pg.execute(db, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10);");
        Path repo = dir.resolve("repo");
        for (int i = 0; i < 2; i++) {
            CliRun r = CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString(), "--format", "json");
            assertEquals(0, r.exitCode(), r.toString());
            Thread.sleep(1100);
        }
        List<String> before = ids(pg, db, repo);
        assertEquals(2, before.size(), before.toString());
        Target target = new Target("t", null, null, dev.chronodr.repo.RepoLocation.local(repo), null, false);

        ChronoException failed = assertThrows(ChronoException.class, () -> runner((t, r) -> {
            throw ChronoException.failed("pg_dump failed", null);
        }).run(target, keepNothingOld()));
        assertEquals("pg_dump failed", failed.getMessage());
        assertEquals(before, ids(pg, db, repo), "a failed backup deletes nothing");

        CommandResult done = runner((t, r) -> new BackupResult(null, null, List.of(), 0)).run(target, keepNothingOld());
        // Newest first: the newest full is kept, the older one pruned and named in the result.
        assertEquals(List.of(before.get(1)), ((BackupResult) done).pruned());
        assertEquals(List.of(before.get(0)), ids(pg, db, repo));
    }
}
