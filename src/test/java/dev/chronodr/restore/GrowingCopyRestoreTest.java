package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.Json;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * A parallel restore loads the largest table from the decompressed copy while the copy is written
 * (issue 25): the data comes out exact wherever the table sits in the archive, a damaged piece of
 * the dump stops it with nothing left behind, and a kill leaves nothing that looks complete.
 */
@PostgresTest
class GrowingCopyRestoreTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    GrowingCopyRestoreTest(PgCluster pg) {
        this.pg = pg;
    }

    /**
     * {@code big} between l_ref (which it references) and s_child (which references it) in name order,
     * which is pg_dump's order of the data: a_big is first, p_big in the middle, z_big last.
     */
    private String seed(String db, String big, int rows, int md5sPerRow) {
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE l_ref (id int PRIMARY KEY, name text);"
                + "INSERT INTO l_ref SELECT g, 'ref ' || g FROM generate_series(1, 50) g;"
                + "CREATE TABLE " + big + " (id bigserial PRIMARY KEY, ref int NOT NULL REFERENCES l_ref, body text NOT NULL);"
                + "INSERT INTO " + big + " (ref, body) SELECT 1 + g % 50, (SELECT string_agg(md5(g::text || '-' || k), '') FROM generate_series(1, "
                + md5sPerRow + ") k) FROM generate_series(1, " + rows + ") g;"
                + "CREATE INDEX ON " + big + " (ref);"
                + "CREATE TABLE s_child (id int PRIMARY KEY, big_id bigint NOT NULL REFERENCES " + big + ", note text);"
                + "INSERT INTO s_child SELECT g, g * 3, 'child ' || g FROM generate_series(1, 300) g;"
                + "CREATE MATERIALIZED VIEW big_counts AS SELECT ref, count(*) AS n FROM " + big + " GROUP BY ref;"
                + "GRANT SELECT ON " + big + " TO PUBLIC;");
        return db;
    }

    private static final String DIGEST = "SELECT string_agg(t || ':' || n || ':' || d, ' ' ORDER BY t) FROM ("
            + " SELECT 'l_ref' t, count(*) n, md5(string_agg(x::text, '|' ORDER BY x.id)) d FROM l_ref x"
            + " UNION ALL SELECT 'big', count(*), md5(string_agg(x::text, '|' ORDER BY x.id)) FROM %1$s x"
            + " UNION ALL SELECT 'child', count(*), md5(string_agg(x::text, '|' ORDER BY x.id)) FROM s_child x"
            + " UNION ALL SELECT 'mv', count(*), md5(string_agg(x::text, '|' ORDER BY x.ref)) FROM big_counts x"
            + " UNION ALL SELECT 'seq', last_value, is_called::text FROM %1$s_id_seq) s";

    /** Tables, sequence value, materialized view, and the keys, indexes and grant that must wait for the data. */
    private String digest(String db, String big) {
        String data = (String) pg.scalar(db, String.format(DIGEST, big));
        Object schema = pg.scalar(db, "SELECT string_agg(conname || ' ' || contype::text || ' ' || convalidated::text, ', ' ORDER BY conname) "
                + "FROM pg_constraint WHERE connamespace = 'public'::regnamespace");
        Object indexes = pg.scalar(db, "SELECT string_agg(indexname, ', ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'");
        Object acl = pg.scalar(db, "SELECT relacl::text FROM pg_class WHERE relname = '" + big + "'");
        return data + " / " + schema + " / " + indexes + " / " + acl;
    }

    private Path backup(String db, Path repo) throws Exception {
        CliRun r = CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString());
        assertEquals(0, r.exitCode(), r.toString());
        try (var s = Files.walk(repo)) {
            return s.filter(p -> p.getFileName().toString().equals(BackupManifest.FILE_NAME)).findFirst().orElseThrow().getParent();
        }
    }

    private static Path backupDirOf(Path repo) throws Exception {
        try (var s = Files.walk(repo)) {
            return s.filter(p -> p.getFileName().toString().equals(BackupManifest.FILE_NAME)).findFirst().orElseThrow().getParent();
        }
    }

    private static BackupManifest manifest(Path backupDir) throws Exception {
        return Json.mapper().readValue(backupDir.resolve(BackupManifest.FILE_NAME).toFile(), BackupManifest.class);
    }

    private long databases(String like) {
        return ((Number) pg.scalar("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE '" + like + "'")).longValue();
    }

    @Test
    void theLargestTableStreamsWhileTheCopyIsWrittenAndTheDataIsExactWhereverItIsInTheArchive() throws Exception {
        for (String big : List.of("a_big", "p_big", "z_big")) {
            String db = seed("grow_" + big, big, 3000, 4);
            Path repo = dir.resolve("repo_" + big);
            BackupManifest m = manifest(backup(db, repo));
            BackupManifest.FileEntry dump = m.file("dump");
            assertNotNull(dump.chunks(), "new backups carry a SHA-256 per piece of the dump");
            assertEquals(List.of(dump.sha256()), dump.chunks().sha256(), "one piece: under 16 MiB, its sum is the file's");
            assertTrue(m.tables().stream().filter(t -> t.name().equals(big)).findFirst().orElseThrow().bytes() > 3000 * 128);

            CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--target-db", db + "_copy",
                    "-j", "2", "--no-verify");
            assertEquals(0, r.exitCode(), r.toString());
            assertTrue(r.out().contains("the largest table, public." + big + ", was loaded while the copy for -j was written"), r.out());
            assertEquals(digest(db, big), digest(db + "_copy", big), big);
            try (var left = Files.list(repo.resolve(".partial/.unpack"))) {
                assertEquals(List.of(), left.toList(), "neither the copy nor its lists are left");
            }
        }
    }

    @Test
    void aDamagedPieceInsideTheLargestTableStopsTheRestoreAndLeavesNothing() throws Exception {
        // About 38 MB of COPY text that zstd cannot shrink below 16 MiB: the table spans two pieces.
        String db = seed("grow_damaged", "p_big", 150_000, 8);
        Path repo = dir.resolve("repo");
        Path backupDir = backup(db, repo);
        BackupManifest m = manifest(backupDir);
        Path dump = backupDir.resolve(m.file("dump").name());
        long size = Files.size(dump);
        assertTrue(size > BackupManifest.Chunks.SIZE + (1 << 20), "the dump must span two pieces: " + size);
        assertEquals(2, m.file("dump").chunks().sha256().size());
        String live = digest(db, "p_big");

        // The first restore proves that the table streams from the first piece on.
        CliRun ok = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--backup-id", m.id(), "--target-db", "grow_fine",
                "-j", "2", "--no-verify");
        assertEquals(0, ok.exitCode(), ok.toString());
        assertTrue(ok.out().contains("public.p_big, was loaded while the copy"), ok.out());
        assertEquals(live, digest("grow_fine", "p_big"));

        try (FileChannel ch = FileChannel.open(dump, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            long at = BackupManifest.Chunks.SIZE + 4096; // in the second piece: p_big's data, whose COPY has begun by then
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x20)).rewind();
            ch.write(b, at);
        }
        for (List<String> how : List.of(List.of("--target-db", "grow_bad"), List.of("--yes"))) {
            List<String> args = new java.util.ArrayList<>(List.of("restore", "--repo", repo.toString(), "--backup-id", m.id(), "-j", "2"));
            args.addAll(how);
            CliRun bad = CliRun.run(pg.env(db), dir, args.toArray(String[]::new));
            assertEquals(1, bad.exitCode(), bad.toString());
            assertTrue(bad.err().contains("is corrupt") && bad.err().contains("bytes 16777216 to"), bad.err());
            assertEquals(0, databases("grow_bad") + databases("grow_damaged_restore_%") + databases("grow_damaged_pre_restore_%"));
            assertEquals(live, digest(db, "p_big"), "the live database is untouched");
            try (var left = Files.list(repo.resolve(".partial/.unpack"))) {
                assertEquals(List.of(), left.toList());
            }
        }
    }

    @Test
    void aRestoreKilledWhileTheLargestTableStreamsLeavesNothingThatLooksCompleteAndTheNextOneCleansUp() throws Exception {
        String db = seed("grow_kill", "p_big", 150_000, 8);
        Path repo = dir.resolve("repo");
        backup(db, repo);
        String live = digest(db, "p_big");
        List<String> argv = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), "dev.chronodr.Main", "restore", "--repo", repo.toString(), "--latest", "--yes",
                "-j", "2");
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(new java.io.File("/dev/null"));
        pb.environment().clear();
        pb.environment().putAll(pg.env(db));
        Process chrono = pb.start();
        String staging = null;
        try {
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (chrono.isAlive() && System.nanoTime() < deadline) {
                // The COPY into the staging database's largest table, running while the copy is written
                staging = (String) pg.scalar("postgres", "SELECT datname FROM pg_stat_activity WHERE datname LIKE 'grow\\_kill\\_restore\\_%'"
                        + " AND query LIKE 'COPY public.p_big%' LIMIT 1");
                if (staging != null) {
                    break;
                }
                Thread.sleep(20);
            }
            assertNotNull(staging, "the largest table's COPY was never seen");
        } finally {
            chrono.destroyForcibly().waitFor();
        }
        long whole = manifest(backupDirOf(repo)).file("dump").uncompressedBytes();
        try (var left = Files.list(repo.resolve(".partial/.unpack"))) {
            for (Path p : left.toList()) {
                String name = p.getFileName().toString();
                assertTrue(name.endsWith(".part") || name.endsWith("-list.dump") || Files.size(p) == whole,
                        "only a whole copy carries a copy's final name: " + p + " " + Files.size(p) + " of " + whole);
            }
        }
        assertEquals(live, digest(db, "p_big"), "the live database is untouched");
        Object comment = pg.scalar("postgres", "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '" + staging + "'");
        assertTrue(comment == null || String.valueOf(comment).startsWith(StagingDatabases.MARKER), "still marked as staging: " + comment);

        CliRun again = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "-j", "2");
        assertEquals(0, again.exitCode(), again.toString());
        assertTrue(comment == null || again.out().contains("dropped " + staging + ": the staging database of an interrupted restore"),
                again.out());
        assertEquals(0, databases(staging));
        assertEquals(live, digest(db, "p_big"));
        try (var left = Files.list(repo.resolve(".partial/.unpack"))) {
            assertEquals(List.of(), left.toList(), "the killed restore's copy and lists are gone");
        }
        assertFalse(again.out().contains("left alone"), again.out());
    }
}
