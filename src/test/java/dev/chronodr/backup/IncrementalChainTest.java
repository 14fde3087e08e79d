package dev.chronodr.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.Json;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.BackupManifest.FileEntry;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StagedBackup;
import dev.chronodr.repo.Storage;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.testing.CliRun;

/**
 * Retention, cleanup and the chain check over a repository of base backups written the way
 * PhysicalBackupService commits them (no server needed): a full base backup, incrementals
 * taken against it, and an older full one nothing depends on.
 */
class IncrementalChainTest {
    private static final String SEG = "000000010000000000000001";
    private static final OffsetDateTime NOW = OffsetDateTime.now(ZoneOffset.UTC);

    @TempDir
    Path dir;

    @Test
    void cleanupKeepsTheParentsAKeptIncrementalNeedsAndDeletesWhatNothingNeeds() throws Exception {
        Repository repo = repo();
        String old = base(repo, 30, null);
        String full = base(repo, 20, null);
        String inc1 = base(repo, 10, full);
        String inc2 = base(repo, 2, inc1);

        // The newest base backup (inc2) is kept; without the chain, its parents (20 and 10 days old) would go.
        CliRun r = CliRun.run(env(), dir, "cleanup", "--repo", repo.root().toString(), "--retention-days", "7", "--format", "json");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(Files.isDirectory(repo.root().resolve(full)), "the full base backup of the kept chain: " + r);
        assertTrue(Files.isDirectory(repo.root().resolve(inc1)), "the incremental between: " + r);
        assertTrue(Files.isDirectory(repo.root().resolve(inc2)), r::toString);
        assertFalse(Files.exists(repo.root().resolve(old)), "the old full one nothing needs is deleted: " + r);
        assertTrue(r.out().contains("kept: incremental base backup " + inc2 + " is kept and needs it"), r::toString);

        // The old physical.json (no parent field) still reads as a full base backup.
        PhysicalBackupInfo legacy = Json.mapper().readValue("""
                {"id":"x","system_identifier":7,"timeline":1,"start_lsn":"0/1000028","stop_lsn":"0/1000100",
                 "start_wal_file":"%s","stop_wal_file":"%s","start_time":"2026-01-01T00:00:00Z","stop_time":"2026-01-01T00:00:01Z",
                 "wal_segment_size":16777216,"server_version_num":150000,"tablespaces":[]}""".formatted(SEG, SEG), PhysicalBackupInfo.class);
        assertEquals(7L, legacy.systemIdentifier());
        assertEquals(SEG, legacy.stopWalFile());
        assertNull(legacy.parent());
        assertFalse(legacy.incremental());
    }

    @Test
    void aDamagedParentMakesItsIncrementalsUnrestorableAndCleanupKeepsTheLastWholeBackup() throws Exception {
        Repository repo = repo();
        String old = base(repo, 30, null);
        String full = base(repo, 20, null);
        String inc1 = base(repo, 10, full);
        String inc2 = base(repo, 2, inc1);
        Path tar = repo.root().resolve(full).resolve("base.tar.zst");
        try (RandomAccessFile f = new RandomAccessFile(tar.toFile(), "rw")) { // same size, other bytes: only the checksum sees it
            f.seek(f.length() - 2);
            f.write(0x55);
        }

        String problem = PitrCatalog.walCheck(repo).apply(repo.find(inc2).orElseThrow());
        assertTrue(problem != null && problem.contains("parent base backup " + full + " fails its checksum check")
                && problem.contains("incremental " + inc2 + " cannot be restored"), String.valueOf(problem));
        Files.delete(repo.root().resolve(inc1).resolve(PhysicalBackupInfo.FILE_NAME)); // not a base backup any more: the chain is cut
        problem = PitrCatalog.walCheck(repo).apply(repo.find(inc2).orElseThrow());
        assertTrue(problem != null && problem.contains("parent base backup " + inc1 + " is missing"), String.valueOf(problem));

        // verify reports the broken chain of the incremental (exit 2)
        CliRun v = CliRun.run(env(), dir, "verify", "--repo", repo.root().toString(), "--backup", inc2, "--format", "json");
        assertEquals(2, v.exitCode(), v::toString);
        assertTrue(v.out().contains("parent base backup " + inc1 + " is missing"), v::toString);

        // The newest whole backup is the old full one: cleanup must keep it, though it is 30 days old.
        CliRun r = CliRun.run(env(), dir, "cleanup", "--repo", repo.root().toString(), "--retention-days", "7", "--format", "json");
        assertTrue(Files.isDirectory(repo.root().resolve(old)), "the only restorable base backup is kept: " + r);
        assertTrue(Files.isDirectory(repo.root().resolve(full)), "a damaged backup is never deleted automatically: " + r);
    }

    private Repository repo() throws Exception {
        Path root = Files.createDirectories(dir.resolve("repo"));
        Path seg = dir.resolve(SEG);
        Files.write(seg, new byte[8192]);
        new WalArchive(root).push(seg);
        return new Repository(root);
    }

    private Map<String, String> env() {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.remove("CHRONO_DR_CONFIG");
        env.remove("CHRONO_DR_REPO");
        return env;
    }

    /** A base backup as PhysicalBackupService commits one: an (empty) base tar, PostgreSQL's manifest, physical.json. */
    private static String base(Repository repo, int daysAgo, String parent) throws Exception {
        OffsetDateTime at = NOW.minusDays(daysAgo);
        String id = repo.newId(PhysicalBackupService.CLUSTER, "physical", at);
        Compression zstd = Compression.parse("zstd:1");
        try (StagedBackup stage = repo.stage(PhysicalBackupService.CLUSTER, id)) {
            Storage.Written tar = stage.write("base.tar.zst", out -> {
                try (OutputStream z = zstd.compress(out)) {
                    z.write(new byte[1024]); // an empty tar
                }
            });
            byte[] pgManifest = "{\"PostgreSQL-Backup-Manifest-Version\": 2}".getBytes(StandardCharsets.UTF_8);
            Storage.Written man = stage.write(PhysicalBackupInfo.PG_MANIFEST, out -> out.write(pgManifest));
            PhysicalBackupInfo info = new PhysicalBackupInfo(id, 7L, 1, "0/1000028", "0/1000100", SEG, SEG, at, at, 16 << 20, 170000,
                    List.of(), parent);
            byte[] json = Json.mapper().writeValueAsBytes(info);
            Storage.Written inf = stage.write(PhysicalBackupInfo.FILE_NAME, out -> out.write(json));
            List<FileEntry> files = List.of(new FileEntry("base.tar.zst", "base", tar.size(), 1024, tar.sha256(), "zstd:1"),
                    new FileEntry(PhysicalBackupInfo.PG_MANIFEST, "pg_backup_manifest", man.size(), man.size(), man.sha256(), "none"),
                    new FileEntry(PhysicalBackupInfo.FILE_NAME, "pitr", inf.size(), inf.size(), inf.sha256(), "none"));
            repo.commit(stage, new BackupManifest(BackupManifest.FORMAT_VERSION, id, "physical", null, PhysicalBackupService.CLUSTER,
                    "h", 5432, "17.0", 170000, "local pg_basebackup", "test", at, at, 1, "zstd:1", "tar", List.of(), files,
                    new BackupManifest.Globals(true, true, "a base backup holds the whole cluster")));
        }
        return id;
    }
}
