package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** The restore command line against a real cluster: round trip, beside, legacy, refusals. */
@PostgresTest
class RestoreCommandTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    RestoreCommandTest(PgCluster pg) {
        this.pg = pg;
    }

    /** Demo data is seeded once per cluster and copied per test: CREATE DATABASE ... TEMPLATE is fast. */
    static String demo(PgCluster pg, String name) {
        if (pg.query("postgres", "SELECT 1 FROM pg_database WHERE datname = 'restore_demo_template'").isEmpty()) {
            pg.createDemoDatabase("restore_demo_template");
        }
        pg.execute("postgres", "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
        pg.execute("postgres", "CREATE DATABASE \"" + name + "\" TEMPLATE restore_demo_template");
        return name;
    }

    /** md5 of every table's rows, in a stable order: equal maps mean equal content. */
    static Map<String, Object> fingerprint(PgCluster pg, String db) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map<String, Object> t : pg.query(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")) {
            String name = (String) t.get("tablename");
            out.put(name, pg.scalar(db, "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM public.\"" + name + "\" t"));
        }
        return out;
    }

    static void damage(PgCluster pg, String db) {
        pg.execute(db, "DROP TABLE scrape_pages");
        pg.execute(db, "DELETE FROM pages WHERE id % 3 = 0");
        pg.execute(db, "UPDATE users SET email = 'x' || email");
    }

    private CliRun backup(String db, Path repo) {
        CliRun r = CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString());
        assertEquals(0, r.exitCode(), r.toString());
        return r;
    }

    private long databasesLike(String pattern) {
        return ((Number) pg.scalar("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE '" + pattern + "'")).longValue();
    }

    @Test
    void roundTripReplacesTheLiveDatabaseAndEndsOpenSessions() throws Exception {
        String db = demo(pg, "rt");
        Path repo = dir.resolve("repo");
        Map<String, Object> before = fingerprint(pg, db);
        backup(db, repo);
        damage(pg, db);
        assertFalse(before.equals(fingerprint(pg, db)));

        try (Connection open = pg.connect(db)) {
            CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "-j", "2", "--format", "json");
            assertEquals(0, r.exitCode(), r.toString());
            JsonNode j = r.json();
            assertTrue(j.get("succeeded").asBoolean());
            assertTrue(j.at("/verification/ok").asBoolean());
            assertEquals(5, j.at("/verification/tables").size());
            assertEquals(2, j.get("jobs").asInt());
            List<String> phases = j.get("phases").findValuesAsText("name");
            assertEquals(List.of("checksums", "toc", "restore", "verify", "swap"), phases);
            String previous = j.get("previous_database").asText();
            assertTrue(previous.startsWith("rt_pre_restore_"), previous);
            assertEquals(before, fingerprint(pg, db));
            // the damaged state is kept for rollback under the previous name
            assertEquals(0L, ((Number) pg.scalar(previous, "SELECT count(*) FROM pg_tables WHERE tablename = 'scrape_pages'")).longValue());
            assertTrue(j.get("rollback").toString().contains("RENAME TO \\\"rt\\\""), j.get("rollback").toString());
            // the session that was open on the old database was ended
            assertThrows(SQLException.class, () -> {
                try (Statement st = open.createStatement()) {
                    st.execute("SELECT 1");
                }
            });
        }
        assertEquals(0, databasesLike("rt_restore_%"));
        assertTrue(pg.query("postgres", "SELECT datallowconn FROM pg_database WHERE datname LIKE 'rt%'").stream()
                .allMatch(r -> Boolean.TRUE.equals(r.get("datallowconn"))));
        try (var files = Files.list(repo.resolve(".partial").resolve(".unpack"))) {
            assertEquals(0, files.count(), "the temporary decompressed archive is removed");
        }
    }

    @Test
    void notValidForeignKeysAreScannedForOrphansValidatedOnesAreTrusted() throws Exception {
        String db = pg.createDatabase("fks");
        pg.execute(db, """
                CREATE TABLE parent (id int PRIMARY KEY);
                CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent);
                CREATE TABLE loose (id int PRIMARY KEY, parent_id int);
                INSERT INTO parent VALUES (1), (2);
                INSERT INTO child VALUES (1, 1), (2, 2);
                INSERT INTO loose VALUES (1, 1), (2, 99);
                ALTER TABLE loose ADD CONSTRAINT loose_parent_fk FOREIGN KEY (parent_id) REFERENCES parent NOT VALID;
                """);
        Path repo = dir.resolve("repo-fks");
        backup(db, repo);
        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--target-db", "fks_copy", "--format", "json");
        assertEquals(1, r.exitCode(), r.toString());
        JsonNode fks = r.json().path("verification").path("foreign_keys");
        assertEquals(2, fks.size(), fks.toString());
        for (JsonNode fk : fks) {
            if (fk.path("constraint").asText().equals("loose_parent_fk")) {
                assertEquals("scan", fk.path("checked_by").asText());
                assertEquals(1, fk.path("orphans").asLong(), "the row whose parent 99 does not exist");
            } else {
                assertEquals("postgresql", fk.path("checked_by").asText(), fk.toString());
                assertEquals(0, fk.path("orphans").asLong());
            }
        }
        assertTrue(r.err().contains("loose_parent_fk") || r.out().contains("loose_parent_fk"), r.toString());
    }

    @Test
    void progressOnATerminalCountsEveryArchiveItem() throws Exception {
        String db = demo(pg, "prog");
        Path repo = dir.resolve("repo-prog");
        backup(db, repo);
        CliRun shown = CliRun.run(pg.env(db), dir, "", new dev.chronodr.core.Terminal(false, false, true, false),
                "restore", "--repo", repo.toString(), "--latest", "--target-db", "prog_copy", "-j", "2");
        assertEquals(0, shown.exitCode(), shown.toString());
        assertTrue(shown.err().contains("\rrestore: ") && shown.err().contains(" archive items"), shown.err());
        CliRun quiet = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--target-db", "prog_quiet");
        assertFalse(quiet.err().contains("archive items"), "no progress without a terminal: " + quiet.err());
        // Without the zstd program on PATH the parallel restore's copy is made in-process, with the same result.
        Map<String, String> noZstd = new LinkedHashMap<>(pg.env(db));
        noZstd.put("PATH", dir.resolve("empty-path").toString());
        CliRun inProcess = CliRun.run(noZstd, dir, "restore", "--repo", repo.toString(), "--latest", "--target-db", "prog_nozstd", "-j", "2",
                "--format", "json");
        assertEquals(0, inProcess.exitCode(), inProcess.toString());
        assertEquals(fingerprint(pg, "prog_quiet"), fingerprint(pg, "prog_nozstd"));

        // The counter reaches the size of the table of contents, with one job and with several.
        var runner = new dev.chronodr.process.ProcessRunner(pg.env(db));
        Path dump = dir.resolve("prog.dump");
        runner.run(dev.chronodr.process.ProcessSpec.of(pg.binDir().resolve("pg_dump").toString(), "-Fc", "-f", dump.toString(), db));
        String list = runner.run(dev.chronodr.process.ProcessSpec.of(pg.binDir().resolve("pg_restore").toString(), "--list", dump.toString())).stdout();
        int toc = (int) list.lines().filter(l -> !l.isBlank() && !l.startsWith(";")).count();
        for (int jobs : new int[] {1, 2}) {
            String target = pg.createDatabase("prog_j" + jobs);
            RestoreProgress counter = new RestoreProgress(dev.chronodr.core.Progress.NONE, toc, jobs > 1);
            runner.run(dev.chronodr.process.ProcessSpec.of(pg.binDir().resolve("pg_restore").toString(), "-v", "-j", String.valueOf(jobs),
                    "--exit-on-error", "-d", target, dump.toString()).withStderrLines(counter::line));
            assertEquals(toc, counter.events(), "jobs " + jobs);
        }
    }

    @Test
    void besideCreatesANewDatabaseAndRefusesAnExistingOne() {
        String db = demo(pg, "bs");
        Path repo = dir.resolve("repo");
        Map<String, Object> before = fingerprint(pg, db);
        backup(db, repo);
        pg.execute(db, "DELETE FROM scrape_pages");
        Map<String, Object> damaged = fingerprint(pg, db);

        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--target-db", "bs_copy");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("verification:  OK"), r.out());
        assertEquals(before, fingerprint(pg, "bs_copy"));
        assertEquals(damaged, fingerprint(pg, db), "the live database is not touched");

        CliRun again = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--target-db", "bs_copy");
        assertEquals(1, again.exitCode(), again.toString());
        assertTrue(again.err().contains("already exists"), again.err());
    }

    @Test
    void legacyPlainSqlGzFromTheRunbook() throws Exception {
        String db = demo(pg, "chrono_scraper");
        Path repo = Files.createDirectories(dir.resolve("legacy"));
        Map<String, Object> before = fingerprint(pg, db);
        Path file = repo.resolve("chrono_scraper_full_20250827_100000.sql.gz");
        ProcessBuilder pb = new ProcessBuilder(pg.binDir().resolve("pg_dump").toString(), "-h", pg.host(), "-p", String.valueOf(pg.port()),
                "-U", pg.superuser(), "-d", db);
        pb.environment().put("PGPASSWORD", pg.password().reveal());
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        try (InputStream in = p.getInputStream(); OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            in.transferTo(out);
        }
        assertEquals(0, p.waitFor());
        damage(pg, db);

        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals("plain", r.json().at("/source/format").asText().toLowerCase());
        assertEquals(before, fingerprint(pg, db));
    }

    @Test
    void plainSqlWithAFailingStatementFailsAndLeavesTheLiveDatabase() throws Exception {
        String db = pg.createDatabase("bad_sql");
        pg.execute(db, "CREATE TABLE keep (id int primary key); INSERT INTO keep VALUES (1)");
        Path file = dir.resolve("broken.sql");
        Files.writeString(file, "CREATE TABLE a (id int primary key);\nINSERT INTO a VALUES (1);\nINSERT INTO nonexistent VALUES (2);\n");
        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--backup-file", file.toString(), "--yes");
        assertEquals(1, r.exitCode(), r.toString());
        assertEquals(1L, ((Number) pg.scalar(db, "SELECT count(*) FROM keep")).longValue());
        assertEquals(0, databasesLike("bad_sql_restore_%"), "the half-restored staging database is dropped");
    }

    @Test
    void corruptBackupIsRefusedAndNothingIsTouched() throws Exception {
        String db = demo(pg, "corrupt");
        Path repo = dir.resolve("repo");
        backup(db, repo);
        pg.execute(db, "DELETE FROM scrape_pages WHERE id % 2 = 0");
        Map<String, Object> live = fingerprint(pg, db);
        Path dump;
        try (var s = Files.walk(repo)) {
            dump = s.filter(x -> x.getFileName().toString().equals("database.dump.zst")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(dump);
        byte[] original = bytes.clone();
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(dump, bytes);

        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("corrupt"), r.err());
        assertEquals(live, fingerprint(pg, db));
        assertEquals(0, databasesLike("corrupt_%restore%"));

        // the stock archive without its manifest: zstd's own checksum catches it
        CliRun file = CliRun.run(pg.env(db), dir, "restore", "--backup-file", dump.toString() + ".copy", "--yes");
        assertEquals(64, file.exitCode(), file.toString());
        Files.copy(dump, dir.resolve("loose.dump.zst"));
        CliRun loose = CliRun.run(pg.env(db), dir, "restore", "--backup-file", "loose.dump.zst", "--target-db", "corrupt_copy");
        assertEquals(1, loose.exitCode(), loose.toString());
        assertEquals(0, databasesLike("corrupt_copy"));

        // in parallel, the copy pg_restore -j would read is hashed as it is made, refused and removed,
        // whether the zstd program makes it or (not on PATH) chrono-dr itself
        CliRun parallel = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "-j", "2");
        assertEquals(1, parallel.exitCode(), parallel.toString());
        assertTrue(parallel.err().contains("corrupt"), parallel.err());
        Map<String, String> noZstd = new LinkedHashMap<>(pg.env(db));
        noZstd.put("PATH", dir.resolve("empty-path").toString());
        CliRun inProcess = CliRun.run(noZstd, dir, "restore", "--repo", repo.toString(), "--latest", "--yes", "-j", "2");
        assertEquals(1, inProcess.exitCode(), inProcess.toString());
        assertTrue(inProcess.err().contains("corrupt"), inProcess.err());
        CliRun looseParallel = CliRun.run(pg.env(db), dir, "restore", "--backup-file", "loose.dump.zst", "--target-db", "corrupt_copy", "-j", "2");
        assertEquals(1, looseParallel.exitCode(), looseParallel.toString());
        assertTrue(looseParallel.err().contains("corrupt or truncated"), looseParallel.err());
        assertEquals(live, fingerprint(pg, db));
        assertEquals(0, databasesLike("corrupt_%restore%") + databasesLike("corrupt_copy"));
        try (var left = Files.list(Files.createDirectories(repo.resolve(".partial/.unpack")))) {
            assertEquals(List.of(), left.toList(), "no decompressed copy is left behind");
        }

        // The same archive compressed again: other bytes, and a dump that restores perfectly, so only the
        // SHA-256 refuses it. Refused before any connection writes anything: between two txid_current()
        // calls no transaction ran (a check made once pg_restore had started would show CREATE DATABASE
        // and the restore's transactions here, even after a failed restore dropped what it made).
        byte[] archive;
        try (InputStream in = new com.github.luben.zstd.ZstdInputStream(new java.io.ByteArrayInputStream(original))) {
            archive = in.readAllBytes();
        }
        Files.write(dump, UnpackedCopyTest.compress(new dev.chronodr.repo.Compression(dev.chronodr.repo.Compression.Method.ZSTD, 9), archive));
        for (Map<String, String> env : List.of(pg.env(db), noZstd)) {
            for (String jobs : List.of("1", "2")) {
                long before = ((Number) pg.scalar("postgres", "SELECT txid_current()")).longValue();
                CliRun recompressed = CliRun.run(env, dir, "restore", "--repo", repo.toString(), "--backup-file", dump.getParent().toString(),
                        "--target-db", "corrupt_copy", "-j", jobs);
                long after = ((Number) pg.scalar("postgres", "SELECT txid_current()")).longValue();
                assertEquals(1, recompressed.exitCode(), recompressed.toString());
                assertTrue(recompressed.err().contains("is corrupt: database.dump.zst has SHA-256"), recompressed.err());
                assertEquals(before + 1, after, "-j " + jobs + ": nothing was written on the server");
                assertEquals(0, databasesLike("corrupt_copy"));
                try (var left = Files.list(repo.resolve(".partial/.unpack"))) {
                    assertEquals(List.of(), left.toList(), "no decompressed copy is left behind");
                }
            }
        }
        Files.write(dump, original);
        CliRun whole = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--backup-file", dump.getParent().toString(),
                "--target-db", "corrupt_copy", "-j", "2");
        assertEquals(0, whole.exitCode(), "the untouched dump restores: " + whole);
    }

    @Test
    void refusalsHaveTheirOwnExitCodes() {
        String db = pg.createDatabase("refuse");
        Path repo = dir.resolve("empty");
        CliRun noYes = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--backup-file", dir.toString(), "--yes");
        assertEquals(64, noYes.exitCode(), noYes.toString());

        CliRun none = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest", "--yes");
        assertEquals(1, none.exitCode(), none.toString());
        assertTrue(none.err().contains("no full backup of database refuse"), none.err());

        CliRun unknown = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--backup-id", "nope");
        assertEquals(64, unknown.exitCode(), unknown.toString());

        CliRun missing = CliRun.run(pg.env(db), dir, "restore", "--backup-file", "/no/such/file.dump", "--yes");
        assertEquals(64, missing.exitCode(), missing.toString());
        assertTrue(missing.err().contains("does not exist"), missing.err());

        CliRun two = CliRun.run(pg.env(db), dir, "restore", "--latest", "--backup-id", "x");
        assertEquals(64, two.exitCode(), two.toString());
    }

    @Test
    void withoutATerminalAndWithoutYesNothingHappens() {
        String db = demo(pg, "noyes");
        Path repo = dir.resolve("repo");
        backup(db, repo);
        damage(pg, db);
        Map<String, Object> live = fingerprint(pg, db);
        CliRun r = CliRun.run(pg.env(db), dir, "restore", "--repo", repo.toString(), "--latest");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--yes"), r.err());
        assertEquals(live, fingerprint(pg, db));
        assertEquals(0, databasesLike("noyes_%"));
        assertNotNull(live);
    }
}
