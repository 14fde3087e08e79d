package dev.chronodr.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.pg.PgVersion;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.BackupVerifier;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StoredBackup;

/**
 * Restoring an incremental base backup (PostgreSQL 17): every backup of its chain is
 * extracted into a scratch directory beside the data directory (same filesystem), with its
 * backup_manifest, and {@code pg_combinebackup} of the backup's major version writes the
 * full data directory they add up to, which is then moved into place. pg_combinebackup runs
 * from this machine (Debian's postgresql-client-MAJOR, or the server programs' directory)
 * or, where the database runs in a container and this machine has no such client, from a
 * PostgreSQL image named by {@value #IMAGE_VAR} ({@code docker run --rm} with the scratch
 * directory mounted at the same path). Everything is resolved before anything is written.
 * From a bucket each backup of the chain is first copied into the spool, checked against
 * its SHA-256 ({@link #fetch}); the copies are removed at the end.
 */
public final class IncrementalRestore {
    /** A PostgreSQL image (same major as the backup) whose pg_combinebackup may be run with docker. */
    public static final String IMAGE_VAR = "CHRONO_DR_COMBINE_IMAGE";
    private static final List<String> ROOTS = List.of("/usr/lib/postgresql", "/usr/local/lib/postgresql");

    private final ProcessRunner runner;
    private final PitrCatalog catalog;
    private final List<PhysicalBackupInfo> chain;
    private final Path localTool;
    private final String image;
    private final String docker;
    /** On object storage, the chain's copies in the spool by id once {@link #fetch} made them; null until then. */
    private Map<String, Path> fetched;

    private IncrementalRestore(ProcessRunner runner, PitrCatalog catalog, List<PhysicalBackupInfo> chain, Path localTool, String image,
                               String docker) {
        this.runner = runner;
        this.catalog = catalog;
        this.chain = chain;
        this.localTool = localTool;
        this.image = image;
        this.docker = docker;
    }

    /**
     * Null for a full base backup. For an incremental one: its whole chain and a usable
     * pg_combinebackup, or a one-line refusal (a broken chain: exit 1; no pg_combinebackup of
     * the backup's major version: exit 3, saying what to install).
     */
    public static IncrementalRestore of(PitrCatalog catalog, PhysicalBackupInfo base, Path serverBin, Environment env, ProcessRunner runner) {
        if (!base.incremental()) {
            return null;
        }
        PitrCatalog.Chain chain = catalog.chain(base);
        if (!chain.whole()) {
            throw ChronoException.failed(chain.problem(), "restore from an older base backup, or take a new full one");
        }
        for (PhysicalBackupInfo b : chain.backups()) {
            if (!b.tablespaces().isEmpty()) {
                throw ChronoException.failed("base backup " + b.id() + " in the chain of incremental " + base.id() + " has tablespaces, which"
                        + " chrono-dr does not combine yet", "restore from a full base backup");
            }
        }
        int major = new PgVersion(base.serverVersionNum()).major();
        Optional<Path> local = locate(serverBin, major);
        String image = env.get(IMAGE_VAR);
        if (local.isEmpty() && (image == null || image.isBlank())) {
            throw ChronoException.unknown("restoring incremental base backup " + base.id() + " needs pg_combinebackup " + major
                    + ", which is not on this machine", "install postgresql-client-" + major + " (apt-get install postgresql-client-" + major
                    + "), or set " + IMAGE_VAR + "=postgres:" + major + " to run it with docker from that image");
        }
        String docker = Optional.ofNullable(env.get("CHRONO_DR_DOCKER")).orElse("docker");
        return new IncrementalRestore(runner, catalog, chain.backups(), local.orElse(null), local.isPresent() ? null : image, docker);
    }

    /** pg_combinebackup refuses backups of another major version: exactly this one's (the server programs' directory is of it). */
    public static Optional<Path> locate(Path serverBin, int major) {
        List<Path> candidates = new ArrayList<>();
        if (serverBin != null) {
            candidates.add(serverBin.resolve("pg_combinebackup"));
        }
        ROOTS.forEach(r -> candidates.add(Path.of(r, String.valueOf(major), "bin", "pg_combinebackup")));
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    /** The backups combined, full one first. */
    public List<PhysicalBackupInfo> chain() {
        return chain;
    }

    /** How pg_combinebackup runs: its path here, or the image it runs from. */
    public String how() {
        return localTool != null ? localTool.toString() : docker + " run --rm " + image;
    }

    /**
     * On object storage: every backup of the chain copied into the spool ({@link
     * Repository#localCopy}: each file checked against its SHA-256 on the way), before anything
     * is written beside the data directory, and added to {@code copies}, which the caller
     * removes (on failure too). A stored object that does not match its manifest is damage:
     * exit 2, and the copies made so far are removed here. In a directory: nothing to do.
     */
    public void fetch(List<Path> copies) {
        Repository repo = catalog.repository();
        if (repo.localRoot().isPresent() || fetched != null) {
            return;
        }
        BackupCatalog stored = BackupCatalog.of(repo);
        Map<String, Path> dirs = new LinkedHashMap<>();
        try {
            for (PhysicalBackupInfo b : chain) {
                StoredBackup s = stored.all().stream().filter(x -> x.id().equals(b.id())).findFirst().orElseThrow(() -> ChronoException.failed(
                        "base backup " + b.id() + " of the chain of incremental " + last().id() + " is no longer in " + repo.location(),
                        "chrono-dr list --repo " + repo.location()));
                Path dir;
                try {
                    dir = repo.localCopy(s);
                } catch (ChronoException e) {
                    // only on failure, whether the objects are damaged (exit 2) or could not be read or written (exit 1):
                    // the happy path reads each object once
                    List<String> damage;
                    try {
                        damage = BackupVerifier.checksums(repo, s).stream().filter(p -> !p.contains(": unreadable (")).toList();
                    } catch (RuntimeException again) {
                        e.addSuppressed(again);
                        throw e;
                    }
                    if (!damage.isEmpty()) {
                        throw ChronoException.critical("base backup " + b.id() + (b == last() ? "" : ", in the chain of incremental "
                                + last().id() + ",") + " is damaged in " + repo.location() + ": " + String.join("; ", damage),
                                "chrono-dr verify --repo " + repo.location() + " --backup " + b.id(), e);
                    }
                    throw e;
                }
                dirs.put(b.id(), dir);
                copies.add(dir);
            }
        } catch (RuntimeException e) {
            dirs.values().forEach(Repository::removeSpooled);
            copies.removeAll(dirs.values());
            throw e;
        }
        fetched = dirs;
    }

    /** Where a backup of the chain is read from: its directory, or its copy in the spool ({@link #fetch}). */
    public Path dir(PhysicalBackupInfo b) {
        return fetched != null ? fetched.get(b.id()) : catalog.baseDir(b);
    }

    private PhysicalBackupInfo last() {
        return chain.get(chain.size() - 1);
    }

    /**
     * Writes the combined data directory into {@code data} (new, or empty but for the restore's
     * mark); encrypted tars of the chain are decrypted with {@code keys} on the way. From a
     * bucket the chain is copied into the spool first ({@link #fetch}) unless the caller did,
     * and then those copies are removed at the end, on failure too.
     */
    public void combineInto(Path data, dev.chronodr.crypto.SecretKeys keys, List<dev.chronodr.crypto.Recipient> recorded) {
        List<Path> copies = new ArrayList<>();
        try {
            fetch(copies);
            combine(data, keys, recorded);
        } finally {
            copies.forEach(Repository::removeSpooled);
            if (!copies.isEmpty()) {
                fetched = null;
            }
        }
    }

    private void combine(Path data, dev.chronodr.crypto.SecretKeys keys, List<dev.chronodr.crypto.Recipient> recorded) {
        Path scratch = null;
        try {
            scratch = Files.createTempDirectory(data.toAbsolutePath().getParent(), ".chrono-dr-combine-");
            List<String> dirs = new ArrayList<>();
            int i = 0;
            for (PhysicalBackupInfo b : chain) {
                Path from = dir(b);
                Path to = scratch.resolve((i++) + "-" + b.id());
                Files.createDirectory(to);
                PitrRestoreService.extract(from.resolve(PitrRestoreService.findBaseFile(from)), to, keys, recorded);
                // pg_combinebackup reads each backup's manifest in its directory; ours beside the tar is the checksummed one
                Files.copy(from.resolve(PhysicalBackupInfo.PG_MANIFEST), to.resolve(PhysicalBackupInfo.PG_MANIFEST),
                        StandardCopyOption.REPLACE_EXISTING);
                dirs.add(to.toString());
            }
            Path out = scratch.resolve("combined");
            List<String> argv = new ArrayList<>();
            if (localTool != null) {
                argv.add(localTool.toString());
            } else {
                argv.addAll(List.of(docker, "run", "--rm", "--network", "none", "-v", scratch + ":" + scratch, "--entrypoint",
                        "pg_combinebackup", image));
            }
            argv.addAll(dirs);
            argv.addAll(List.of("-o", out.toString()));
            try {
                runner.run(ProcessSpec.of(argv).withTimeout(Duration.ofHours(24)));
            } catch (ProcessFailedException e) {
                throw ChronoException.failed("pg_combinebackup could not combine incremental base backup " + chain.get(chain.size() - 1).id()
                        + " with its chain: " + lastLine(e.stderrTail()), "see chrono-dr verify --backup " + chain.get(chain.size() - 1).id(), e);
            }
            try (var ls = Files.list(out)) {
                for (Path p : ls.toList()) {
                    Files.move(p, data.resolve(p.getFileName().toString()));
                }
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot combine the incremental chain into " + data + ": " + e.getMessage(),
                    "check free space beside " + data + " (the chain is extracted there first)", e);
        } finally {
            ReplayedTablespaces.deleteQuietly(scratch);
        }
    }

    private static String lastLine(String text) {
        List<String> lines = text.strip().lines().toList();
        return lines.isEmpty() ? "(no message)" : lines.get(lines.size() - 1).strip();
    }

}
