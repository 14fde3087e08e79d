package dev.chronodr.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.config.Target;
import dev.chronodr.core.Json;
import dev.chronodr.core.Progress;
import dev.chronodr.dump.CustomArchiveReader;
import dev.chronodr.pg.CopyDigest;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.pg.TableDigest;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.RepoLocation;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * Issue 23: a backup counts rows and digests each table's COPY text in pg_dump's own
 * stream, instead of reading every table a second time; a reader that cannot read the
 * stream falls back to count(*) in the dump's snapshot and the backup still succeeds.
 */
@PostgresTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamCountsTest {
    private static final String DB = "stream_counts";
    private static final String ODD_SCHEMA = "Ödd \"Sché ma\" ✓";
    private static final String ODD_TABLE = "Tâble 'q' \"名前\" x";
    private PgCluster pg;
    @TempDir
    Path dir;

    @BeforeAll
    void seed(PgCluster pg) {
        this.pg = pg;
        pg.createDatabase(DB);
        String odd = Identifiers.qualified(ODD_SCHEMA, ODD_TABLE);
        pg.execute(DB, """
                CREATE SCHEMA %s;
                CREATE TABLE %s (id int PRIMARY KEY, "välue" text);
                INSERT INTO %s SELECT g, 'ü' || g FROM generate_series(1, 41) g;
                CREATE TABLE empty_one (id int);
                CREATE TABLE awkward (id int, t text, b bytea, ts timestamptz, f float8, iv interval, r regclass, dropped int,
                                      doubled int GENERATED ALWAYS AS (id * 2) STORED);
                ALTER TABLE awkward DROP COLUMN dropped;
                INSERT INTO awkward VALUES
                    (1, E'line one\\nline two', '\\x00ff0a'::bytea, '2024-03-01 12:00+05', 0.1, '1 day 02:03', 'awkward'),
                    (2, E'tab\\there\\\\backslash\\r\\n', NULL, NULL, 1e300, '-3 months', NULL),
                    (3, '\\.', '\\x5c2e'::bytea, 'infinity', 'NaN', NULL, 'pg_class'),
                    (4, '', E'\\\\x'::bytea, '1999-12-31 23:59:59.999999+00', -0.0, '00:00:01', NULL);
                CREATE TABLE events (id int, at date, note text) PARTITION BY RANGE (at);
                CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
                CREATE TABLE events_other PARTITION OF events DEFAULT;
                INSERT INTO events SELECT g, DATE '2024-01-01' + g * 3, 'n' || g FROM generate_series(1, 200) g;
                CREATE TABLE big (id int, payload text);
                INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 20000) g;
                ALTER DATABASE %s SET timezone = 'Asia/Kolkata';
                ALTER DATABASE %s SET bytea_output = 'escape';
                """.formatted(Identifiers.quote(ODD_SCHEMA), odd, odd, DB, DB));
    }

    private static BackupManifest manifest(Path backupDir) throws Exception {
        return Json.mapper().readValue(backupDir.resolve("manifest.json").toFile(), BackupManifest.class);
    }

    private long countStar(String db, BackupManifest.TableEntry t) {
        return ((Number) pg.scalar(db, "SELECT count(*) FROM " + Identifiers.qualified(t.schema(), t.name()))).longValue();
    }

    private ProcessResult shell(String script) {
        return new ProcessRunner(pg.env(DB)).execute(ProcessSpec.of("bash", "-o", "pipefail", "-c", script)
                .withEnv(Map.of("PATH", pg.binDir() + ":" + System.getenv("PATH"))).withTimeout(Duration.ofMinutes(2)));
    }

    @Test
    void countsFromTheStreamEqualCountStarAndItsDigestsEqualTheRestoredCopys() throws Exception {
        Path repo = dir.resolve("repo");
        CliRun r = CliRun.run(pg.env(DB), dir, "backup", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        Path backup = Path.of(r.json().get("path").asText());
        BackupManifest m = manifest(backup);
        assertEquals("archive stream", m.dumpSession().counts(), m.dumpSession().toString());
        assertEquals("UTC", m.dumpSession().settings().get("TimeZone"));
        assertEquals("hex", m.dumpSession().settings().get("bytea_output"));
        assertTrue(m.tables().stream().anyMatch(t -> t.schema().equals(ODD_SCHEMA) && t.name().equals(ODD_TABLE)));
        assertTrue(m.tables().stream().anyMatch(t -> t.name().equals("events_2024")), "a partition's data is its own table");
        for (BackupManifest.TableEntry t : m.tables()) {
            assertEquals(countStar(DB, t), t.rows(), t.qualifiedName());
            assertTrue(t.digest() != null && t.digest().startsWith(CopyDigest.PREFIX), t.toString());
        }
        assertEquals(0L, m.tables().stream().filter(t -> t.name().equals("empty_one")).findFirst().orElseThrow().rows());
        assertEquals(4L, m.tables().stream().filter(t -> t.name().equals("awkward")).findFirst().orElseThrow().rows(),
                "embedded newlines are escaped in COPY text: one line per row");

        // A stock restore into a database with the same odd defaults: COPY TO STDOUT of each restored table hashes
        // to the digest taken from the archive, byte for byte.
        String copy = pg.createDatabase("stream_counts_copy");
        pg.execute("postgres", "ALTER DATABASE " + copy + " SET timezone = 'America/Anchorage'; ALTER DATABASE " + copy
                + " SET bytea_output = 'escape'");
        ProcessResult restore = shell("zstd -dc '" + backup.resolve("database.dump.zst") + "' | pg_restore --exit-on-error -d " + copy);
        assertEquals(0, restore.exitCode(), restore.stderrTail());
        try (Connection c = pg.connect(copy)) {
            c.setAutoCommit(false);
            for (BackupManifest.TableEntry t : m.tables()) {
                TableDigest.Digest d = TableDigest.like(c, t.schema(), t.name(), t.digest());
                assertEquals(t.digest(), d.value(), t.qualifiedName());
                assertEquals(t.rows(), d.rows(), t.qualifiedName());
            }
            c.createStatement().execute("UPDATE public.awkward SET f = 0.1000000001 WHERE id = 1");
            String awkward = m.tables().stream().filter(t -> t.name().equals("awkward")).findFirst().orElseThrow().digest();
            assertNotEquals(awkward, TableDigest.like(c, "public", "awkward", awkward).value(), "a changed value changes the digest");
            c.rollback();
        }
    }

    @Test
    void aReaderThatCannotReadTheArchiveFallsBackToCountStarAndTheBackupSucceeds() throws Exception {
        Path repo = dir.resolve("repo-fallback");
        ProcessRunner runner = new ProcessRunner(pg.env(DB));
        // A reader that knows only archive versions up to 1.13, as this one will not know PostgreSQL 18's.
        BackupService service = new BackupService(runner, new ToolLocator(runner, pg.env(DB)), Progress.NONE, "test",
                digest -> new CustomArchiveReader(digest, CustomArchiveReader.version(1, 13, 255)));
        Target target = new Target("t", pg.connection(DB), ExecSettings.local(), RepoLocation.local(repo), null, false);
        BackupResult result = service.backup(target, new BackupRequest(BackupType.FULL, List.of(), null, Compression.DEFAULT, null,
                List.of("awkward"), false));
        BackupManifest m = result.manifest();
        assertTrue(m.dumpSession().counts().startsWith("count(*) in the dump's snapshot"), m.dumpSession().counts());
        assertTrue(m.dumpSession().counts().contains("archive version 1.14"), m.dumpSession().counts());
        for (BackupManifest.TableEntry t : m.tables()) {
            assertEquals(countStar(DB, t), t.rows(), t.qualifiedName());
            if (t.name().equals("awkward")) {
                assertTrue(t.digest().startsWith("h64:"), "--digest tables still get a digest, by a scan: " + t.digest());
            } else {
                assertNull(t.digest(), t.qualifiedName());
            }
        }
        assertTrue(Files.exists(Path.of(result.path()).resolve("database.dump.zst")));
    }

    @Test
    void theReaderGivesTheSameAnswerHoweverTheStreamIsCutAndRefusesWhatItCannotRead() throws Exception {
        Path plain = dir.resolve("plain.dump");
        Path gz = dir.resolve("gz.dump");
        ProcessResult dump = shell("pg_dump -Fc -Z0 -d " + DB + " > '" + plain + "' && pg_dump -Fc -d " + DB + " > '" + gz + "'");
        assertEquals(0, dump.exitCode(), dump.stderrTail());
        byte[] archive = Files.readAllBytes(plain);

        CustomArchiveReader whole = feed(archive, archive.length, null);
        assertEquals(java.util.Optional.empty(), whole.failure());
        assertEquals("1.14", whole.archiveVersion(), "PostgreSQL 15's pg_dump");
        assertEquals(20000L, whole.table("public", "big").orElseThrow().rows());
        assertEquals(41L, whole.table(ODD_SCHEMA, ODD_TABLE).orElseThrow().rows());
        for (int chunk : new int[] {1, 7, 4096}) {
            assertEquals(whole.tables(), feed(archive, chunk, null).tables(), "chunks of " + chunk);
        }
        assertEquals(whole.tables(), feed(archive, 0, new Random(23)).tables(), "random chunks");

        // What it cannot read, it says so, and never throws.
        assertFailure(java.util.Arrays.copyOf(archive, archive.length / 2), "ended inside");
        assertFailure(java.util.Arrays.copyOf(archive, 40), "before its table of contents");
        byte[] trailing = java.util.Arrays.copyOf(archive, archive.length + 1);
        trailing[archive.length] = 9;
        assertFailure(trailing, "unknown data block type 9");
        byte[] foreign = archive.clone();
        foreign[0] = 'X';
        assertFailure(foreign, "not a pg_dump custom archive");
        assertFailure(Files.readAllBytes(gz), "compressed");
        byte[] noise = new byte[100_000];
        new Random(5).nextBytes(noise);
        System.arraycopy(archive, 0, noise, 0, 8);
        assertTrue(feed(noise, 1000, null).failure().isPresent(), "a header followed by noise");
    }

    private static void assertFailure(byte[] bytes, String why) {
        CustomArchiveReader r = feed(bytes, 8192, null);
        assertTrue(r.failure().isPresent() && r.failure().get().contains(why), String.valueOf(r.failure()));
        assertEquals(List.of(), r.tables());
    }

    private static CustomArchiveReader feed(byte[] bytes, int chunk, Random random) {
        CustomArchiveReader r = new CustomArchiveReader(true);
        List<Integer> cuts = new ArrayList<>();
        for (int off = 0; off < bytes.length; ) {
            int n = Math.min(bytes.length - off, random == null ? chunk : 1 + random.nextInt(3000));
            byte[] piece = java.util.Arrays.copyOfRange(bytes, off, off + n); // the reader must not rely on the caller's buffer
            r.accept(piece, 0, n);
            cuts.add(n);
            off += n;
        }
        r.finish();
        return r;
    }
}
