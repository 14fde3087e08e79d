package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.Status;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

@PostgresTest
class BackupVerifierTest {
    @TempDir
    Path dir;

    private BackupVerifier verifier(PgCluster pg) {
        ProcessRunner runner = new ProcessRunner(System.getenv());
        return new BackupVerifier(v -> new PgTools(ExecSettings.local(), pg.connection("postgres"), runner,
                new ToolLocator(runner, System.getenv()), v));
    }

    private StoredBackup backup(PgCluster pg, String db, Path repo) {
        CliRun r = CliRun.run(pg.env(db), dir, "backup", "--repo", repo.toString());
        assertEquals(0, r.exitCode(), r.toString());
        return new Repository(repo).backups().get(0);
    }

    @Test
    void soundBackupTruncatedDumpAndFlippedByte(PgCluster pg) throws Exception {
        String db = pg.createDatabase("verify_me");
        pg.execute(db, "CREATE TABLE a (id int, t text); INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 5000) g;"
                + "CREATE TABLE \"B b\" (id int); INSERT INTO \"B b\" VALUES (1)");
        Path repo = dir.resolve("repo");
        StoredBackup good = backup(pg, db, repo);
        BackupVerifier.Result ok = verifier(pg).verify(good);
        assertEquals(Status.OK, ok.status(), ok.problems().toString());
        assertEquals(4, ok.tocEntries(), "toc entries: " + ok.tocEntries());
        assertEquals(2, ok.filesChecked());

        Path dump = good.path().resolve("database.dump.zst");
        long size = Files.size(dump);
        try (RandomAccessFile f = new RandomAccessFile(dump.toFile(), "rw")) {
            f.setLength(size / 2);
        }
        BackupVerifier.Result truncated = verifier(pg).verify(good);
        assertEquals(Status.CRITICAL, truncated.status());
        assertTrue(truncated.problems().get(0).contains("truncated"), truncated.problems().toString());

        Thread.sleep(1100);
        StoredBackup second = backup(pg, db, repo);
        Path globals = second.path().resolve("globals.sql.zst");
        byte[] bytes = Files.readAllBytes(globals);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(globals, bytes);
        BackupVerifier.Result flipped = verifier(pg).verify(second);
        assertEquals(Status.CRITICAL, flipped.status());
        assertTrue(flipped.problems().get(0).startsWith("globals.sql.zst: SHA-256"), flipped.problems().toString());
    }

    @Test
    void legacyFilesAreCheckedForReadabilityOnly(PgCluster pg) throws Exception {
        Path repo = Files.createDirectories(dir.resolve("legacy"));
        Path good = repo.resolve("chrono_scraper_full_20250827_100000.sql.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(good))) {
            out.write("CREATE TABLE x (id int);\n".repeat(1000).getBytes());
        }
        byte[] all = Files.readAllBytes(good);
        Files.write(repo.resolve("chrono_scraper_full_20250826_100000.sql.gz"), java.util.Arrays.copyOf(all, all.length / 2));
        Map<String, Status> byId = new java.util.HashMap<>();
        for (StoredBackup b : new Repository(repo).backups()) {
            byId.put(b.id(), verifier(pg).verify(b).status());
        }
        assertEquals(Status.WARNING, byId.get("chrono_scraper_full_20250827_100000.sql.gz"));
        assertEquals(Status.CRITICAL, byId.get("chrono_scraper_full_20250826_100000.sql.gz"));
    }
}
