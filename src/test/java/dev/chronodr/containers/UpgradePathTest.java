package dev.chronodr.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.DockerTest;
import dev.chronodr.testing.Major;
import dev.chronodr.testing.PgContainer;

/**
 * The upgrade path: a logical backup taken from a PostgreSQL 15 container, with that
 * server's own pg_dump (--exec docker), restores into a PostgreSQL 17 container with its
 * pg_restore, and the data is the same. And the other way round: this machine's older
 * pg_dump is refused for the newer server, with the reason.
 */
@DockerTest(postgres = {15, 17})
class UpgradePathTest {
    @TempDir
    Path dir;

    @Test
    void aBackupOfPostgres15RestoresIntoPostgres17(@Major(15) PgContainer pg15, @Major(17) PgContainer pg17) {
        String db = pg15.cluster().createDemoDatabase("chrono_scraper");
        String digest = digest(pg15, db);
        Path repo = dir.resolve("repo");

        CliRun b = CliRun.run(pg15.cluster().env(db), dir, "backup", "--repo", repo.toString(),
                "--exec", "docker", "--container", pg15.containerName());
        assertEquals(0, b.exitCode(), b.toString());

        Map<String, String> env17 = pg17.cluster().env(db);
        CliRun r = CliRun.run(env17, dir, "restore", "--repo", repo.toString(), "--latest", "--target-db", "chrono_scraper_17",
                "--exec", "docker", "--container", pg17.containerName());
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(17, ((Number) pg17.cluster().scalar("chrono_scraper_17", "SELECT current_setting('server_version_num')::int / 10000")).intValue());
        assertEquals(digest, digest(pg17, "chrono_scraper_17"), "the same rows on PostgreSQL 17");
        assertTrue(r.out().contains("chrono_scraper_17"), r.out());
    }

    @Test
    void localToolsOlderThanTheServerAreRefusedWithTheReason(@Major(17) PgContainer pg17) throws Exception {
        assumeTrue(IntStream.rangeClosed(17, 30).noneMatch(v -> Files.isDirectory(Path.of("/usr/lib/postgresql/" + v + "/bin"))),
                "this machine has local PostgreSQL 17+ client tools");
        pg17.cluster().createDatabase("older_client");
        Path repo = dir.resolve("repo-older");
        CliRun b = CliRun.run(pg17.cluster().env("older_client"), dir, "backup", "--repo", repo.toString(), "--exec", "local");
        assertEquals(3, b.exitCode(), b.toString());
        assertTrue(b.err().contains("17"), "names the server's version: " + b.err());
        assertTrue(b.err().contains("--exec compose"), "and the way out, the container's own tools: " + b.err());
        try (var entries = Files.list(Files.createDirectories(repo))) {
            assertTrue(entries.noneMatch(p -> p.getFileName().toString().startsWith("older_client")), "no backup left behind");
        }
    }

    /** Every row of every user table, in a stable order. */
    private static String digest(PgContainer pg, String db) {
        return (String) pg.cluster().scalar(db, """
                SELECT md5(string_agg(t.d, '|' ORDER BY t.n))
                FROM (SELECT c.oid::regclass::text AS n,
                             (xpath('/row/d/text()', query_to_xml(format(
                                 'SELECT md5(coalesce(string_agg(x::text, %L ORDER BY x::text), %L)) AS d FROM %s x',
                                 ',', '', c.oid::regclass), false, false, '')))[1]::text AS d
                      FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
                      WHERE c.relkind = 'r' AND s.nspname = 'public') t""");
    }
}
