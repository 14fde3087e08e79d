package dev.chronodr.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.chronodr.backup.PhysicalBackupService;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgVersion;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StoredBackup;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.crypto.SecretKeys;
import dev.chronodr.crypto.Recipient;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.repo.BackupManifest;

/**
 * What a base backup needs beyond its checksums: PostgreSQL's own pg_verifybackup over
 * the extracted files (against the backup_manifest the server wrote), and an unbroken
 * WAL chain in the archive from the backup's first segment to the newest.
 */
public final class PhysicalBackupVerifier {
    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final SecretKeys keys;

    public PhysicalBackupVerifier(ProcessRunner runner, ToolLocator locator) {
        this(runner, locator, null);
    }

    /** {@code keys}: what opens encrypted files (--decrypt-key); null checks their stored bytes only. */
    public PhysicalBackupVerifier(ProcessRunner runner, ToolLocator locator, SecretKeys keys) {
        this.runner = runner;
        this.locator = locator;
        this.keys = keys;
    }

    /** Problems found; empty when sound. Null when the directory holds no base backup. */
    public List<String> verify(Path repo, Path backupDir, Path scratchParent) {
        return verify(new Repository(repo), backupDir.getFileName().toString(), backupDir, scratchParent);
    }

    /**
     * The same for a backup in any repository: on object storage its files are copied into
     * the spool first (each checked against its SHA-256 on the way, {@link Repository#localCopy}),
     * extracted beside the copy, and the copy removed at the end; the WAL is read through the
     * repository's storage.
     */
    public List<String> verify(Repository repo, StoredBackup b) {
        if (repo.localRoot().isPresent()) {
            return verify(repo, b.id(), b.path(), repo.localRoot().get());
        }
        if (b.manifest() == null || b.manifest().files().stream().noneMatch(f -> f.name().equals(PhysicalBackupInfo.FILE_NAME))) {
            return null;
        }
        Path copy = repo.localCopy(b);
        try {
            return verify(repo, b.id(), copy, copy.getParent());
        } finally {
            Repository.removeSpooled(copy);
        }
    }

    private List<String> verify(Repository repo, String id, Path backupDir, Path scratchParent) {
        Path infoFile = backupDir.resolve(PhysicalBackupInfo.FILE_NAME);
        if (!Files.isRegularFile(infoFile)) {
            return null;
        }
        PitrCatalog catalog = PitrCatalog.of(repo);
        PhysicalBackupInfo info = catalog.bases().stream().filter(b -> id.equals(b.id()))
                .findFirst().orElse(null);
        List<String> problems = new ArrayList<>();
        if (info == null) {
            problems.add("physical.json unreadable");
            return problems;
        }
        String chain = catalog.chainProblem(info, dev.chronodr.repo.BackupCatalog.of(repo));
        if (chain != null) {
            problems.add(chain); // an incremental is restorable only with every backup before it
        }
        catalog.firstGapAfter(info).ifPresent(gap -> problems.add("WAL segment " + gap
                + " is missing from the archive: recovery from this backup cannot pass it"));
        problems.addAll(checkWal(repo, catalog, info));
        List<Recipient> recorded = recipients(backupDir);
        boolean sealed = PitrRestoreService.findBaseFile(backupDir).endsWith(BackupManifest.ENCRYPTED_SUFFIX);
        if (sealed && keys == null) {
            // its stored bytes were checked against the manifest; what is inside needs the key (verify says so)
            return problems;
        }
        ToolLocator.Located tool = locator.locate(PgTool.PG_VERIFYBACKUP, new PgVersion(info.serverVersionNum()));
        int major = new PgVersion(info.serverVersionNum()).major();
        // an older pg_verifybackup cannot read a newer manifest (17 writes version 2): not damage, a check that cannot run here,
        // unless the image pg_combinebackup may run from (CHRONO_DR_COMBINE_IMAGE) has the right one
        String image = runner.baseEnv().get(IncrementalRestore.IMAGE_VAR);
        boolean fromImage = (!tool.usable() || tool.version().major() < major) && image != null && !image.isBlank();
        if (!fromImage && tool.usable() && tool.version().major() < major) {
            if (!problems.isEmpty()) {
                return problems; // found damaged already: that verdict stands without the content check
            }
            throw ChronoException.unknown("base backup " + info.id() + " is of PostgreSQL " + major + ", and pg_verifybackup "
                    + tool.version().major() + " cannot read its manifest; its files passed their SHA-256 check", "install "
                    + ToolLocator.packageFor(new PgVersion(info.serverVersionNum())) + ", or set " + IncrementalRestore.IMAGE_VAR + "=postgres:"
                    + major + " to run it with docker from that image");
        }
        if (!tool.usable() && !fromImage) {
            problems.add("pg_verifybackup not available: " + tool.problem());
            return problems;
        }
        Path scratch = null;
        try {
            scratch = Files.createTempDirectory(scratchParent, ".verify-" + info.id());
            PitrRestoreService.extract(backupDir.resolve(PitrRestoreService.findBaseFile(backupDir)), scratch, keys, recorded);
            PitrRestoreService.extractWal(backupDir, scratch, keys, recorded);
            for (PhysicalBackupInfo.Tablespace ts : info.tablespaces()) {
                // pg_verifybackup follows pg_tblspc/OID as the server would: a directory serves as well as the link
                Optional<String> tar = PhysicalBackupService.findTar(backupDir, ts.tarName());
                if (tar.isEmpty()) {
                    problems.add("tablespace " + ts.name() + ": " + ts.tarName() + " is missing from the backup");
                    return problems;
                }
                PitrRestoreService.extract(backupDir.resolve(tar.get()), scratch.resolve("pg_tblspc").resolve(String.valueOf(ts.oid())), keys,
                        recorded);
            }
            List<String> argv = new ArrayList<>();
            if (fromImage) {
                Path manifest = backupDir.resolve(PhysicalBackupInfo.PG_MANIFEST).toAbsolutePath();
                argv.addAll(List.of(runner.baseEnv().getOrDefault("CHRONO_DR_DOCKER", "docker"), "run", "--rm", "--network", "none",
                        "-v", scratch.toAbsolutePath() + ":" + scratch.toAbsolutePath() + ":ro", "-v", manifest + ":" + manifest + ":ro",
                        "--entrypoint", "pg_verifybackup", image, "-q"));
            } else {
                argv.addAll(List.of(tool.path().toString(), "-q"));
            }
            // A backup taken with -X none has its WAL only in the archive, which the chain check covers; and
            // pg_waldump reads only its own major version's WAL (a newer pg_verifybackup on an older server's backup).
            if (isEmpty(scratch.resolve("pg_wal")) || !fromImage && tool.version().major() != major) {
                argv.add("-n");
            }
            // The manifest beside the tar (checksummed in ours) is the one checked against, whether or not the tar carries a copy.
            argv.addAll(List.of("-m", backupDir.resolve(PhysicalBackupInfo.PG_MANIFEST).toAbsolutePath().toString(),
                    scratch.toAbsolutePath().toString()));
            ProcessResult r = runner.execute(ProcessSpec.of(argv).withTimeout(Duration.ofHours(2)));
            if (!r.succeeded()) {
                r.stderrTail().lines().limit(10).forEach(l -> problems.add("pg_verifybackup: " + l.strip()));
            }
        } catch (ChronoException e) {
            if (e.exitCode() == ExitCode.UNKNOWN) {
                throw e; // the key given does not open it: the content could not be checked, which is not damage
            }
            problems.add(e.getMessage());
        } catch (IOException | RuntimeException e) {
            problems.add("could not run pg_verifybackup: " + e.getMessage());
        } finally {
            ReplayedTablespaces.deleteQuietly(scratch);
        }
        return problems;
    }

    /** The recipients the backup's manifest records (none when it is not encrypted or unreadable). */
    private static List<Recipient> recipients(Path backupDir) {
        try {
            BackupManifest m = dev.chronodr.core.Json.mapper().readValue(backupDir.resolve(BackupManifest.FILE_NAME).toFile(), BackupManifest.class);
            return m.encryption() == null ? List.of() : m.encryption().recipients();
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    /**
     * Every archived segment recovery from this backup would replay, up to the first gap,
     * against its sidecar: an encrypted one by the SHA-256 of its stored bytes without the
     * key (so the archive is proven intact where the key is not), decrypted and its content
     * checked with it; a plain one decompressed and its content checked.
     */
    private List<String> checkWal(Repository repo, PitrCatalog catalog, PhysicalBackupInfo info) {
        String tli = String.format("%08X", info.timeline());
        java.util.Set<String> archived = new java.util.HashSet<>();
        catalog.wal().stream().filter(WalArchive.Entry::isSegment).filter(e -> e.timeline().equals(tli)).forEach(e -> archived.add(e.name()));
        WalArchive archive = new WalArchive(repo);
        List<String> problems = new ArrayList<>();
        for (String name = info.startWalFile(); archived.contains(name); name = PitrCatalog.next(name, info.walSegmentSize())) {
            archive.check(name, keys).ifPresent(problems::add);
        }
        return problems;
    }

    private static boolean isEmpty(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return true;
        }
        try (var ls = Files.list(dir)) {
            return ls.noneMatch(Files::isRegularFile);
        }
    }

}
