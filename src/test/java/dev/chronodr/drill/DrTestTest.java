package dev.chronodr.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.chronodr.core.Json;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

@PostgresTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DrTestTest {
    private static final String DB = "drill_app";
    private PgCluster pg;
    private Path config;
    @TempDir
    Path dir;

    @BeforeAll
    void seed(PgCluster pg, @TempDir Path configDir) throws Exception {
        this.pg = pg;
        pg.createDemoDatabase(DB);
        config = Files.writeString(configDir.resolve("c.yaml"), """
                targets:
                  app:
                    host: 127.0.0.1
                    port: %d
                    dbname: %s
                    user: postgres
                    critical_tables: [users, pages, scrape_pages]
                    drill: {rto_minutes: 20, rpo_minutes: 10}
                """.formatted(pg.port(), DB));
    }

    private Map<String, String> env() {
        Map<String, String> env = new HashMap<>(pg.env(DB));
        env.keySet().removeIf(k -> k.startsWith("PG") && !k.equals("PGPASSWORD"));
        return env;
    }

    private CliRun drill(Path repo, String... args) {
        List<String> all = new ArrayList<>(List.of("dr-test", "--config", config.toString(), "--repo", repo.toString()));
        all.addAll(List.of(args));
        return CliRun.run(env(), dir, all.toArray(String[]::new));
    }

    private List<String> scratchDatabases() {
        return pg.query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE '" + DB + "_dr_test_%'").stream()
                .map(r -> (String) r.get("datname")).toList();
    }

    /** Scratch databases carrying a drill's mark (comment with its token). */
    private List<String> markedScratchDatabases() {
        return pg.query("postgres", "SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE 'chrono-dr dr-test scratch %'"
                + " AND shobj_description(oid, 'pg_database') <> '" + ScratchDatabase.KEPT + "'").stream()
                .map(r -> (String) r.get("datname")).toList();
    }

    @Test
    void passingDrillWritesReportsAndLeavesNothing() throws Exception {
        Path repo = dir.resolve("repo");
        Path junit = dir.resolve("out/drill.xml");
        Path report = dir.resolve("out/drill.json");
        // each check of the copy bounded (as verify's statements are), which a healthy server never reaches
        CliRun r = drill(repo, "--junit-xml", junit.toString(), "--report", report.toString(), "--statement-timeout", "1min", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        JsonNode j = r.json();
        assertTrue(j.get("passed").asBoolean());
        List<String> names = new ArrayList<>();
        for (JsonNode s : j.get("steps")) {
            names.add(s.get("name").asText());
            assertEquals("PASSED", s.get("outcome").asText(), s.toString());
        }
        assertEquals(List.of("backup", "verify-backup", "restore", "row-counts", "foreign-keys", "digests", "schema", "integrity", "rto", "rpo"), names);
        // Every table's content proven, not only the three critical ones: the backup digested each table's COPY text.
        assertTrue(j.at("/steps/5/message").asText().contains("content of every table (5) identical"), j.at("/steps/5").toString());
        assertEquals(1200, j.at("/rto/target_seconds").asLong(), "from the config's drill section");
        assertEquals(List.of(), scratchDatabases(), "scratch database removed");

        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
        assertEquals(names.size(), doc.getElementsByTagName("testcase").getLength());
        assertEquals("0", doc.getDocumentElement().getAttribute("failures"));
        assertEquals(j.get("backup_id").asText(), Json.mapper().readTree(report.toFile()).get("backup_id").asText());
    }

    @Test
    void theHeadlineAndTheRtoNameTheSameRestoreTimeAndEveryTableIsProvenWithoutCriticalTables() throws Exception {
        Path bare = Files.writeString(dir.resolve("bare.yaml"), """
                targets:
                  app:
                    host: 127.0.0.1
                    port: %d
                    dbname: %s
                    user: postgres
                """.formatted(pg.port(), DB));
        CliRun r = CliRun.run(env(), dir, "dr-test", "--config", bare.toString(), "--repo", dir.resolve("repo-spans").toString());
        assertEquals(0, r.exitCode(), r.toString());
        java.util.regex.Matcher head = java.util.regex.Pattern.compile("restored on \\S+ in (\\S+ \\S+); drill took (\\S+ \\S+)")
                .matcher(r.out().lines().findFirst().orElseThrow());
        assertTrue(head.find(), r.out());
        assertTrue(r.out().contains("restore took " + head.group(1) + " against an RTO"), "one restore time everywhere: " + r.out());
        // No critical_tables in the config: every table is proven anyway, from the digests the backup took for free.
        String digests = r.out().lines().filter(l -> l.contains(" digests ")).findFirst().orElseThrow();
        assertTrue(digests.contains("PASSED") && digests.contains("content of every table (5) identical"), digests);
    }

    @Test
    void corruptedBackupFailsAtVerifyBackupAndNeverRestores() throws Exception {
        Path repo = dir.resolve("repo-corrupt");
        CliRun b = CliRun.run(env(), dir, "backup", "--config", config.toString(), "--repo", repo.toString(), "--format", "json");
        assertEquals(0, b.exitCode(), b.toString());
        Path dump = Path.of(b.json().get("path").asText()).resolve("database.dump.zst");
        byte[] bytes = Files.readAllBytes(dump);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(dump, bytes);
        CliRun r = drill(repo, "--latest");
        assertEquals(2, r.exitCode(), r.toString());
        String firstStep = r.out().lines().skip(1).findFirst().orElseThrow();
        // --latest takes only a backup that passes its checksum check now: the damaged one is named, never restored.
        assertTrue(firstStep.contains("FAILED") && firstStep.contains("damaged: database.dump.zst: SHA-256"), "failing step first: " + r.out());
        assertFalse(r.out().contains("restore  "), r.out());
        String headline = r.out().lines().findFirst().orElseThrow();
        assertFalse(headline.contains("restored"), "nothing was restored: " + r.out());
        assertTrue(headline.contains(", no restore attempted; drill took "), r.out());
        assertEquals(List.of(), scratchDatabases());
    }

    /** The files a drill writes carry the same envelope as stdout: exit_code first, equal to the process's. */
    @Test
    void theReportFileCarriesTheProcessExitCode() throws Exception {
        Path repo = dir.resolve("repo-envelope");
        CliRun b = CliRun.run(env(), dir, "backup", "--config", config.toString(), "--repo", repo.toString(), "--format", "json");
        assertEquals(0, b.exitCode(), b.toString());
        Path dump = Path.of(b.json().get("path").asText()).resolve("database.dump.zst");
        byte[] bytes = Files.readAllBytes(dump);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(dump, bytes);
        Path report = dir.resolve("out/envelope.json");
        Path junit = dir.resolve("out/envelope.xml");
        CliRun r = drill(repo, "--latest", "--report", report.toString(), "--junit-xml", junit.toString(), "--format", "json");
        assertEquals(2, r.exitCode(), r.toString());
        JsonNode file = Json.mapper().readTree(report.toFile());
        assertEquals(r.exitCode(), file.get("exit_code").asInt(), file.toString());
        assertEquals("exit_code", file.fieldNames().next(), "the envelope's first field, as on stdout");
        assertEquals(r.json(), file, "the file is the document --format json printed");
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
        assertEquals("1", doc.getDocumentElement().getAttribute("failures"), Files.readString(junit));
    }

    @Test
    void contentThatDiffersFromTheDigestFailsTheDigestStep() throws Exception {
        Path repo = dir.resolve("repo-digest");
        CliRun b = CliRun.run(env(), dir, "backup", "--config", config.toString(), "--repo", repo.toString(), "--digest", "--format", "json");
        assertEquals(0, b.exitCode(), b.toString());
        // The digest taken at backup time no longer matches what the archive restores.
        Path manifest = Path.of(b.json().get("path").asText()).resolve("manifest.json");
        ObjectNode m = (ObjectNode) Json.mapper().readTree(manifest.toFile());
        for (JsonNode t : m.get("tables")) {
            if (t.get("name").asText().equals("pages")) {
                ((ObjectNode) t).put("digest", "12345");
            }
        }
        Json.mapper().writeValue(manifest.toFile(), m);
        CliRun r = drill(repo, "--backup-id", b.json().at("/manifest/id").asText(), "--format", "json");
        assertEquals(2, r.exitCode(), r.toString());
        JsonNode digests = null;
        for (JsonNode s : r.json().get("steps")) {
            if (s.get("name").asText().equals("digests")) {
                digests = s;
            }
        }
        assertEquals("FAILED", digests.get("outcome").asText());
        assertTrue(digests.get("details").get(0).asText().startsWith("public.pages: content differs"), digests.toString());
        assertEquals(List.of(), scratchDatabases(), "removed after a failed drill too");
    }

    @Test
    void aTableWhoseRestoredCopyTextDiffersFromTheBackupsFailsTheDrillWithBothRowCounts() throws Exception {
        Path repo = dir.resolve("repo-c256");
        CliRun b = CliRun.run(env(), dir, "backup", "--config", config.toString(), "--repo", repo.toString(), "--format", "json");
        assertEquals(0, b.exitCode(), b.toString());
        // A plain backup (no --digest) holds a COPY-text digest of every table; change one as if a row had changed.
        Path manifest = Path.of(b.json().get("path").asText()).resolve("manifest.json");
        ObjectNode m = (ObjectNode) Json.mapper().readTree(manifest.toFile());
        long domains = -1;
        for (JsonNode t : m.get("tables")) {
            String digest = t.path("digest").asText("");
            assertTrue(digest.startsWith("c256:"), t.toString());
            if (t.get("name").asText().equals("domains")) {
                domains = t.get("rows").asLong();
                ((ObjectNode) t).put("digest", digest.substring(0, digest.length() - 1) + (digest.endsWith("0") ? "1" : "0"));
            }
        }
        Json.mapper().writeValue(manifest.toFile(), m);
        CliRun r = drill(repo, "--backup-id", b.json().at("/manifest/id").asText(), "--format", "json");
        assertEquals(2, r.exitCode(), r.toString());
        JsonNode digests = null;
        for (JsonNode s : r.json().get("steps")) {
            if (s.get("name").asText().equals("digests")) {
                digests = s;
            }
        }
        assertEquals("FAILED", digests.get("outcome").asText(), digests.toString());
        assertEquals(1, digests.get("details").size(), "only the changed table: " + digests);
        assertEquals("public.domains: content differs from the backup's (" + domains + " rows restored, " + domains + " in the backup)",
                digests.get("details").get(0).asText());
        assertEquals(List.of(), scratchDatabases());
    }

    @Test
    void theDigestsAreReadWhileTheRestoreGoesOnAndAfterItWithOneJob() throws Exception {
        Path repo = dir.resolve("repo-early");
        CliRun parallel = drill(repo, "--format", "json");
        assertEquals(0, parallel.exitCode(), parallel.toString());
        String early = digestsMessage(parallel);
        assertTrue(early.contains("content of every table (5) identical") && early.contains("5 announced by the restore, "), early);
        CliRun serial = drill(repo, "--latest", "--jobs", "1", "--format", "json");
        assertEquals(0, serial.exitCode(), serial.toString());
        String after = digestsMessage(serial);
        assertTrue(after.contains("content of every table (5) identical") && !after.contains("announced"), after);
        assertEquals(List.of(), scratchDatabases());
    }

    private static String digestsMessage(CliRun r) {
        for (JsonNode s : r.json().get("steps")) {
            if (s.get("name").asText().equals("digests")) {
                return s.get("outcome").asText() + " " + s.get("message").asText();
            }
        }
        throw new AssertionError("no digests step: " + r.out());
    }

    @Test
    void roleWithoutCreatedbCannotRun() {
        pg.execute("postgres", "DROP ROLE IF EXISTS drill_ro; CREATE ROLE drill_ro LOGIN PASSWORD 'ro-pw'; GRANT pg_read_all_data TO drill_ro");
        Map<String, String> env = env();
        env.put("PGUSER", "drill_ro");
        env.put("PGPASSWORD", "ro-pw");
        CliRun r = CliRun.run(env, dir, "dr-test", "--config", config.toString(), "-U", "drill_ro", "--repo", dir.resolve("repo-ro").toString());
        assertEquals(3, r.exitCode(), r.toString());
        assertTrue(r.err().contains("may not create databases"), r.err());
    }

    @Test
    void killedDrillLeavesAScratchThatTheNextDrillRemoves() throws Exception {
        Path repo = dir.resolve("repo-kill");
        pg.execute(DB, "CREATE TABLE IF NOT EXISTS bulk AS SELECT g AS id, repeat(md5(g::text), 12) AS body FROM generate_series(1, 150000) g");
        try {
            List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "dev.chronodr.Main",
                    "dr-test", "--config", config.toString(), "--repo", repo.toString(), "--jobs", "1"));
            ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(new File("/dev/null"));
            pb.environment().clear();
            pb.environment().putAll(env());
            Process p = pb.start();
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (markedScratchDatabases().isEmpty() && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(p.isAlive(), "the drill was still restoring when killed");
            assertEquals(1, ScratchRecord.all(repo).size(), "the drill recorded its scratch database in the repository");
            p.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            List<String> left = scratchDatabases();
            assertEquals(1, left.size(), "kill -9 skips every cleanup");
            assertEquals(left, markedScratchDatabases(), "the leftover carries its drill's mark");

            // --keep survives later drills; the killed drill's leftover does not.
            CliRun kept = drill(repo, "--latest", "--keep", "--format", "json");
            assertEquals(0, kept.exitCode(), kept.toString());
            assertEquals(1, kept.json().get("leftovers_removed").size(), kept.toString());
            assertEquals(left.get(0), kept.json().get("leftovers_removed").get(0).asText());
            assertEquals(List.of(), ScratchRecord.all(repo), "the swept leftover's record goes with it; --keep leaves none");
            String keptName = kept.json().get("scratch_database").asText();
            CliRun again = drill(repo, "--latest", "--format", "json");
            assertEquals(0, again.exitCode(), again.toString());
            assertEquals(0, again.json().get("leftovers_removed").size());
            assertEquals(List.of(keptName), scratchDatabases());
            pg.execute("postgres", "DROP DATABASE \"" + keptName + "\"");
        } finally {
            pg.execute(DB, "DROP TABLE IF EXISTS bulk");
        }
    }

    @Test
    void aUsersDatabaseWithAScratchLikeNameSurvivesTheDrillAndItsSweep() throws Exception {
        String lookalike = DB + "_dr_test_20240101_120000";
        pg.createDatabase(lookalike);
        try {
            pg.execute(lookalike, "CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 42) g");
            Path repo = dir.resolve("repo-lookalike");
            // A record naming it (as a drill killed before it could mark its scratch would leave) is no proof either.
            Files.createDirectories(repo.resolve(".drill"));
            Files.writeString(repo.resolve(".drill/00ff.json"), """
                    {"token": "00ff", "scratch": "%s", "database": "%s", "server": "127.0.0.1:%d", "created_at": "2024-01-01T12:00:00Z"}
                    """.formatted(lookalike, DB, pg.port()));
            CliRun r = drill(repo, "--format", "json");
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals(0, r.json().get("leftovers_removed").size(), r.toString());
            assertEquals(1, r.json().get("leftovers_left_alone").size(), r.toString());
            assertTrue(r.json().at("/leftovers_left_alone/0").asText().startsWith(lookalike + ": "), r.toString());
            CliRun again = drill(repo, "--latest");
            assertEquals(0, again.exitCode(), again.toString());
            assertEquals(42L, ((Number) pg.scalar(lookalike, "SELECT count(*) FROM orders")).longValue(), "the user's data is untouched");
            assertEquals(List.of(), ScratchRecord.all(repo));
        } finally {
            pg.execute("postgres", "DROP DATABASE IF EXISTS \"" + lookalike + "\" WITH (FORCE)");
        }
    }

    @Test
    void aDatabaseWithA60ByteMultiByteNameCanBeDrilledTwiceInARow() {
        String jp = "日本語のデータベース名前長い試験用データ"; // 20 characters, 60 bytes of UTF-8
        assertEquals(60, jp.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        pg.createDemoDatabase(jp);
        try {
            Path repo = dir.resolve("repo-jp");
            for (int i = 0; i < 2; i++) {
                CliRun r = drill(repo, "-d", jp, "--format", "json");
                assertEquals(0, r.exitCode(), "drill " + (i + 1) + ": " + r);
                String scratch = r.json().get("scratch_database").asText();
                assertTrue(scratch.getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= 63, scratch);
                assertEquals(0L, ((Number) pg.scalar("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE '日本語%' AND datname <> '"
                        + jp + "'")).longValue(), "scratch database removed after drill " + (i + 1));
            }
        } finally {
            pg.execute("postgres", "DROP DATABASE IF EXISTS \"" + jp + "\" WITH (FORCE)");
        }
    }

    @Test
    void aBackupIdThatIsNotInTheRepositoryIsAUsageError() {
        Path repo = dir.resolve("repo-missing-id");
        for (String id : List.of("../../etc", "drill_app-full-20240101T000000Z")) {
            CliRun r = drill(repo, "--backup-id", id);
            assertEquals(64, r.exitCode(), r.toString());
            assertEquals("", r.out(), "no drill report: nothing ran");
            assertEquals(1, r.err().strip().lines().filter(l -> !l.startsWith("hint:") && !l.startsWith("  ")).count(), r.err());
            assertTrue(r.err().contains("no backup '" + id + "'"), r.err());
            assertFalse(r.err().contains("restored"), r.err());
        }
        assertEquals(List.of(), scratchDatabases());
    }

    @Test
    void aStatementTimeoutThatIsNoDurationOrGoesWithPitrIsAUsageError() {
        Path repo = dir.resolve("repo-timeout");
        CliRun bad = drill(repo, "--statement-timeout", "soon");
        assertEquals(64, bad.exitCode(), bad.toString());
        assertTrue(bad.err().contains("--statement-timeout 'soon' is not a duration"), bad.err());
        CliRun pitr = drill(repo, "--pitr", "--statement-timeout", "1min");
        assertEquals(64, pitr.exitCode(), pitr.toString());
        assertTrue(pitr.err().contains("--statement-timeout bounds the checks of a logical drill"), pitr.err());
        assertFalse(Files.exists(repo), "nothing ran");
        assertEquals(List.of(), scratchDatabases());
    }
}
