package dev.chronodr.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import dev.chronodr.testing.CliRun;

/**
 * {@link VersionDifferencesTest} on PostgreSQL 15, and this machine's own client tools
 * (/usr/lib/postgresql/15/bin, --exec local) against a server in a container, over TCP
 * with PGPASSWORD: the other container tests use the container's tools (--exec docker or
 * compose), and UpgradePathTest covers local tools older than the server (refused).
 */
class VersionDifferences15Test extends VersionDifferencesTest {
    @Override
    int major() {
        return 15;
    }

    @Test
    void localClientToolsBackUpAndRestoreTheContainerOverTcp() {
        String db = cluster().createDemoDatabase("local_tools");
        String before = digest(db);
        Path repo = dir.resolve("repo-local");

        CliRun b = CliRun.run(cluster().env(db), dir, "backup", "--repo", repo.toString(), "--exec", "local");
        assertEquals(0, b.exitCode(), b.toString());
        // The data directory is in the container, not here: free space cannot be measured, so it asks for --yes.
        CliRun refused = CliRun.run(cluster().env(db), dir, "restore", "--repo", repo.toString(), "--latest",
                "--target-db", "local_tools_copy", "--exec", "local");
        assertEquals(64, refused.exitCode(), refused.toString());
        assertTrue(refused.err().contains("--yes"), refused.err());
        assertEquals(0L, ((Number) cluster().scalar("postgres",
                "SELECT count(*) FROM pg_database WHERE datname = 'local_tools_copy'")).longValue(), "nothing was touched");

        CliRun r = CliRun.run(cluster().env(db), dir, "restore", "--repo", repo.toString(), "--latest",
                "--target-db", "local_tools_copy", "--exec", "local", "--yes");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("local_tools_copy"), r.out());
        assertEquals(before, digest("local_tools_copy"), "the same rows, restored into the container by the local pg_restore");
    }

    /** Every row of every user table, in a stable order. */
    private String digest(String db) {
        return (String) cluster().scalar(db, """
                SELECT md5(string_agg(t.d, '|' ORDER BY t.n))
                FROM (SELECT c.oid::regclass::text AS n,
                             (xpath('/row/d/text()', query_to_xml(format(
                                 'SELECT md5(coalesce(string_agg(x::text, %L ORDER BY x::text), %L)) AS d FROM %s x',
                                 ',', '', c.oid::regclass), false, false, '')))[1]::text AS d
                      FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
                      WHERE c.relkind = 'r' AND s.nspname = 'public') t""");
    }
}
