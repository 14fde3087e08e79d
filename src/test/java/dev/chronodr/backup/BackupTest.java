package dev.chronodr.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.core.Json;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

@PostgresTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BackupTest {
    private static final String DB = "chrono_scraper";
    private PgCluster pg;
    @TempDir
    Path dir;

    @BeforeAll
    void seed(PgCluster pg) {
        this.pg = pg;
        pg.createDemoDatabase(DB);
        // Names that need quoting survive: mixed case, a space, a quote.
        pg.execute(DB, """
                CREATE SCHEMA "Odd Schema";
                CREATE TABLE "Odd Schema"."Mixed Case ""Quoted"" Table" (id int PRIMARY KEY, "Value" text, "Payload" json);
                INSERT INTO "Odd Schema"."Mixed Case ""Quoted"" Table" SELECT g, 'v' || g, json_build_object('n', g) FROM generate_series(1, 37) g;
                """);
    }

    private CliRun cli(Path repo, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--repo", repo.toString(), "--format", "json"));
        return CliRun.run(pg.env(DB), dir, all.toArray(String[]::new));
    }

    /** Every table's content as an order-independent digest. */
    private Map<String, String> contents(String db) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map<String, Object> t : pg.query(db, """
                SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1""")) {
            String name = (String) t.get("name");
            out.put(name, String.valueOf(pg.scalar(db, "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM " + name + " t")));
        }
        return out;
    }

    private ProcessResult shell(String script) {
        return new ProcessRunner(pg.env(DB)).execute(ProcessSpec.of("bash", "-o", "pipefail", "-c", script)
                .withEnv(Map.of("PATH", pg.binDir() + ":" + System.getenv("PATH"))).withTimeout(Duration.ofMinutes(2)));
    }

    private static BackupManifest manifest(Path backupDir) throws Exception {
        return Json.mapper().readValue(backupDir.resolve("manifest.json").toFile(), BackupManifest.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"zstd", "gzip:1", "none"})
    void fullBackupRestoresWithStockTools(String compress) throws Exception {
        Path repo = dir.resolve("repo");
        CliRun r = cli(repo, "backup", "--compress", compress, "--label", "round trip");
        assertEquals(0, r.exitCode(), r.toString());
        Path backup = Path.of(r.json().get("path").asText());
        BackupManifest m = manifest(backup);
        assertEquals("round trip", m.label());

        // sha256sum -c accepts SHA256SUMS as is.
        ProcessResult sums = shell("cd '" + backup + "' && sha256sum -c SHA256SUMS");
        assertEquals(0, sums.exitCode(), sums.stderrTail() + sums.stdout());

        String copy = pg.createDatabase("copy_" + compress.replace(":", "_"));
        String dump = backup.resolve(m.file("dump").name()).toString();
        String decompress = dump.endsWith(".zst") ? "zstd -dc '" + dump + "'" : dump.endsWith(".gz") ? "gzip -dc '" + dump + "'" : "cat '" + dump + "'";
        ProcessResult restore = shell(decompress + " | pg_restore --exit-on-error -d " + copy);
        assertEquals(0, restore.exitCode(), restore.stderrTail());
        assertEquals(contents(DB), contents(copy), "every table's content, not just counts");

        // The manifest's counts are the data's.
        for (BackupManifest.TableEntry t : m.tables()) {
            Object n = pg.scalar(DB, "SELECT count(*) FROM " + dev.chronodr.pg.Identifiers.qualified(t.schema(), t.name()));
            assertEquals(((Number) n).longValue(), t.rows(), t.qualifiedName());
        }
        assertEquals(6, m.tables().size());
        assertTrue(m.globals().included());
        assertTrue(m.globals().rolePasswordsIncluded(), "superuser connection");

        // Private files and directories.
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(repo)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(backup)));
        try (var files = Files.list(backup)) {
            for (Path f : files.toList()) {
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
            }
        }
    }

    @Test
    void schemaThenDataBackupsRoundTrip() throws Exception {
        Path repo = dir.resolve("repo");
        CliRun schema = cli(repo, "backup", "--type", "schema");
        assertEquals(0, schema.exitCode(), schema.toString());
        CliRun data = cli(repo, "backup", "--type", "data", "--tables", "users", "projects", "domains", "pages", "scrape_pages",
                "Odd Schema.Mixed Case \"Quoted\" Table");
        assertEquals(0, data.exitCode(), data.toString());
        BackupManifest dm = manifest(Path.of(data.json().get("path").asText()));
        assertEquals(6, dm.tables().size());
        assertEquals(37L, dm.tables().stream().filter(t -> t.schema().equals("Odd Schema")).findFirst().orElseThrow().rows());

        String copy = pg.createDatabase("copy_schema_data");
        for (CliRun r : List.of(schema, data)) {
            Path dump = Path.of(r.json().get("path").asText()).resolve("database.dump.zst");
            ProcessResult p = shell("zstd -dc '" + dump + "' | pg_restore --exit-on-error --disable-triggers -d " + copy);
            assertEquals(0, p.exitCode(), p.stderrTail());
        }
        assertEquals(contents(DB), contents(copy));
    }

    @Test
    void tablesTakeCommasRepeatsAndQuotedNamesAsVerifyAndVacuumDo() throws Exception {
        Path repo = dir.resolve("repo-names");
        CliRun r = cli(repo, "backup", "--type", "data", "--tables", "users,projects", "--tables",
                "\"Odd Schema\".\"Mixed Case \"\"Quoted\"\" Table\"", "public.\"pages\"");
        assertEquals(0, r.exitCode(), r.toString());
        BackupManifest m = manifest(Path.of(r.json().get("path").asText()));
        assertEquals(List.of("Odd Schema.Mixed Case \"Quoted\" Table", "public.pages", "public.projects", "public.users"),
                m.tables().stream().map(BackupManifest.TableEntry::qualifiedName).sorted().toList());
    }

    @Test
    void unknownTableIsAUsageErrorAndNothingStarts() throws Exception {
        Path repo = dir.resolve("repo-unknown");
        CliRun r = CliRun.run(pg.env(DB), dir, "backup", "--repo", repo.toString(), "--type", "data", "--tables", "users", "pagez");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("no such table: pagez"), r.err());
        assertFalse(Files.exists(repo), "nothing was created");
        CliRun caseMatters = CliRun.run(pg.env(DB), dir, "backup", "--repo", repo.toString(), "--type", "data", "--tables", "USERS");
        assertEquals(64, caseMatters.exitCode());
        CliRun noTables = CliRun.run(pg.env(DB), dir, "backup", "--repo", repo.toString(), "--type", "data");
        assertEquals(64, noTables.exitCode());
        CliRun badType = CliRun.run(pg.env(DB), dir, "backup", "--repo", repo.toString(), "--type", "differential");
        assertEquals(64, badType.exitCode());
        CliRun badLevel = CliRun.run(pg.env(DB), dir, "backup", "--repo", repo.toString(), "--compress", "zstd:99");
        assertEquals(64, badLevel.exitCode());
    }

    @Test
    void listShowsNewestFirstAndLegacyFiles() throws Exception {
        Path repo = dir.resolve("repo-list");
        assertEquals(0, cli(repo, "backup", "--type", "schema").exitCode());
        Thread.sleep(1100);
        assertEquals(0, cli(repo, "backup").exitCode());
        Files.writeString(repo.resolve("chrono_scraper_full_20250827_100000.sql.gz"), "legacy");
        JsonNode list = cli(repo, "list").json().get("backups");
        assertEquals(3, list.size());
        assertEquals("full", list.get(0).get("type").asText());
        assertEquals("schema", list.get(1).get("type").asText());
        assertTrue(list.get(2).get("legacy").asBoolean());
        assertEquals(22700 + 37, list.get(0).get("rows").asLong());
    }

    @Test
    void retentionAfterBackupNeverDeletesTheNewestFull() throws Exception {
        Path repo = dir.resolve("repo-retention");
        CliRun first = cli(repo, "backup", "--retention-days", "0");
        assertEquals(0, first.exitCode(), first.toString());
        assertEquals(0, first.json().get("pruned").size(), "the only backup is the newest full: kept");
        Thread.sleep(1100);
        CliRun second = cli(repo, "backup", "--retention-days", "0");
        assertEquals(first.json().at("/manifest/id").asText(), second.json().get("pruned").get(0).asText());
        assertEquals(1, cli(repo, "list").json().get("backups").size());
    }

    @Test
    void digestsMatchAfterAStockRestore() throws Exception {
        Path repo = dir.resolve("repo-digest");
        // Enum labels and reg* values get new OIDs in a restored copy: their tables must not be hashed by value.
        pg.execute(DB, """
                CREATE TYPE digest_mood AS ENUM ('calm', 'busy');
                CREATE TABLE digest_moods (id int PRIMARY KEY, mood digest_mood[], kind regtype);
                INSERT INTO digest_moods SELECT g, ARRAY['calm', 'busy']::digest_mood[], 'digest_mood'::regtype FROM generate_series(1, 20) g;
                """);
        CliRun r;
        try {
            r = cli(repo, "backup", "--digest", "users", "pages", "Odd Schema.Mixed Case \"Quoted\" Table", "digest_moods");
        } finally {
            pg.execute(DB, "DROP TABLE digest_moods; DROP TYPE digest_mood");
        }
        assertEquals(0, r.exitCode(), r.toString());
        Path backup = Path.of(r.json().get("path").asText());
        BackupManifest m = manifest(backup);
        String copy = pg.createDatabase("copy_digest");
        assertEquals(0, shell("zstd -dc '" + backup.resolve("database.dump.zst") + "' | pg_restore --exit-on-error -d " + copy).exitCode());
        int digested = 0;
        try (var c = pg.connect(copy)) {
            c.setAutoCommit(false);
            for (BackupManifest.TableEntry t : m.tables()) {
                // Every table's COPY text is digested from the archive stream, not only the --digest ones.
                assertTrue(t.digest().startsWith("c256:"), t.toString());
                digested++;
                var d = dev.chronodr.pg.TableDigest.like(c, t.schema(), t.name(), t.digest());
                assertEquals(t.digest(), d.value(), t.qualifiedName());
                assertEquals(t.rows(), d.rows());
            }
            String users = m.tables().stream().filter(t -> t.name().equals("users")).findFirst().orElseThrow().digest();
            String odd = m.tables().stream().filter(t -> t.schema().equals("Odd Schema")).findFirst().orElseThrow().digest();
            // A changed row changes the digest.
            c.createStatement().execute("UPDATE public.users SET full_name = full_name || 'x' WHERE id = 1");
            c.createStatement().execute("UPDATE \"Odd Schema\".\"Mixed Case \"\"Quoted\"\" Table\" SET \"Payload\" = '{\"n\": 0}' WHERE id = 1");
            assertTrue(!dev.chronodr.pg.TableDigest.like(c, "public", "users", users).value().equals(users));
            var oddChanged = dev.chronodr.pg.TableDigest.like(c, "Odd Schema", "Mixed Case \"Quoted\" Table", odd);
            assertTrue(!oddChanged.value().equals(odd), oddChanged.value());
            c.rollback();
        }
        assertEquals(7, digested);
        CliRun unknown = cli(repo, "backup", "--digest", "nope");
        assertEquals(64, unknown.exitCode(), unknown.toString());
    }
}
