package dev.chronodr.restore;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

import dev.chronodr.backup.PhysicalBackupService;
import dev.chronodr.config.EncryptionSection;
import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.crypto.KeyFiles;
import dev.chronodr.crypto.OpenPgp;
import dev.chronodr.crypto.Recipient;
import dev.chronodr.crypto.SecretKeys;
import dev.chronodr.pg.Lsn;
import dev.chronodr.pg.PgVersion;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.pg.ServiceUser;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.BackupVerifier;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.wal.ArchiveCommand;
import dev.chronodr.wal.RestorePointResult;
import dev.chronodr.wal.RestorePoints;

/**
 * Restores a base backup into a new data directory and replays archived WAL up to a
 * target: choose the newest base backup that ends before the target (refusing targets
 * outside the archive's window before touching anything), extract it, write
 * restore_command (wal-fetch) and recovery_target_* with recovery_target_action=promote,
 * start the server with pg_ctl and wait until it has promoted.
 */
public final class PitrRestoreService {
    private static final Pattern STOPPING = Pattern.compile("LOG:\\s+(recovery stopping .*)");
    private static final Pattern LAST_TX = Pattern.compile("LOG:\\s+last completed transaction was at log time (.*)");
    private static final Pattern NEW_TLI = Pattern.compile("LOG:\\s+selected new timeline ID: (\\d+)");

    private final ProcessRunner runner;
    private final Environment env;

    public PitrRestoreService(ProcessRunner runner, Environment env) {
        this.runner = runner;
        this.env = env;
    }

    /** The base backup for a target, or a refusal that names the recoverable window. */
    public PhysicalBackupInfo choose(PitrCatalog catalog, RecoveryTarget target, List<String> warnings) {
        List<PhysicalBackupInfo> bases = catalog.bases();
        if (bases.isEmpty()) {
            throw ChronoException.failed("no base backup in " + catalog.location(), "take one with: chrono-dr backup --type physical");
        }
        OffsetDateTime earliest = catalog.earliestReachable().orElseThrow();
        String latest = catalog.latestReachable().map(Object::toString).orElse("(no WAL archived)");
        String window = "recoverable window: " + earliest + " (end of the oldest base backup " + bases.get(0).id() + ") to about "
                + latest + " (newest archived WAL)";
        PhysicalBackupInfo chosen = switch (target.kind()) {
            case TIME -> {
                if (target.time().isBefore(earliest)) {
                    throw ChronoException.usage("target " + target.time() + " is before the oldest base backup ends; " + window,
                            "choose a time in the window; older moments need an older base backup, which this repository does not have");
                }
                Optional<OffsetDateTime> last = catalog.latestReachable();
                if (last.isEmpty() || target.time().isAfter(last.get())) {
                    throw ChronoException.usage("target " + target.time() + " is after the newest archived WAL; " + window,
                            "wait for the archiver (or run 'chrono-dr backup --type incremental' to switch and archive now)");
                }
                yield bases.stream().filter(b -> !b.stopTime().isAfter(target.time())).reduce((a, b) -> b).orElseThrow();
            }
            case LSN -> bases.stream().filter(b -> Lsn.parse(b.stopLsn()).compareTo(target.lsn()) <= 0).reduce((a, b) -> b)
                    .orElseThrow(() -> ChronoException.usage("target LSN " + target.lsn() + " is before the end of the oldest base backup ("
                            + bases.get(0).stopLsn() + "); " + window, null));
            case NAME -> {
                Optional<RestorePointResult> p = restorePoint(catalog, target.name());
                if (p.isEmpty()) {
                    warnings.add("restore point '" + target.name() + "' is not recorded in the repository; starting from the oldest base backup");
                    yield bases.get(0);
                }
                yield bases.stream().filter(b -> !b.stopTime().isAfter(p.get().createdAt())).reduce((a, b) -> b)
                        .orElseThrow(() -> ChronoException.usage("restore point '" + target.name() + "' (" + p.get().createdAt()
                                + ") is before the oldest base backup ends; " + window, null));
            }
            case IMMEDIATE, LATEST -> bases.get(bases.size() - 1);
        };
        Optional<String> gap = catalog.firstGapAfter(chosen);
        if (gap.isPresent() && gap.get().compareTo(chosen.stopWalFile()) <= 0) {
            throw ChronoException.failed("WAL segment " + gap.get() + " is missing from the archive; base backup " + chosen.id()
                    + " cannot become consistent without it", "restore from another base backup, or recover the segment");
        }
        if (gap.isPresent()) {
            refuseTargetPastGap(catalog, chosen, target, gap.get());
            warnings.add("WAL segment " + gap.get() + " is missing from the archive: recovery cannot go past it");
        }
        return chosen;
    }

    /**
     * The restored cluster must fit where it is written: the base (and its WAL) in the data
     * directory's filesystem, each tablespace in its destination's, with room for the WAL
     * recovery fetches (a tenth more, and 64 MiB). Needs on one filesystem add up; what
     * --force-clean would remove counts as free. Refused before anything is written.
     */
    static void requireSpace(dev.chronodr.repo.BackupManifest m, PhysicalBackupInfo base, Path data,
                             Map<PhysicalBackupInfo.Tablespace, Path> spaces, boolean forceClean) {
        if (m == null) {
            return;
        }
        Map<Path, Long> need = new LinkedHashMap<>();
        long main = 0;
        for (var f : m.files()) {
            if (f.role().equals("base") || f.role().equals("wal")) {
                main += Math.max(f.bytes(), f.uncompressedBytes());
            }
        }
        need.merge(data, main + main / 10 + (64L << 20), Long::sum);
        for (var e : spaces.entrySet()) {
            long ts = m.files().stream().filter(f -> f.role().equals("tablespace") && f.name().startsWith(e.getKey().tarName()))
                    .mapToLong(f -> Math.max(f.bytes(), f.uncompressedBytes())).sum();
            need.merge(e.getValue(), ts + ts / 10, Long::sum);
        }
        Map<java.nio.file.FileStore, long[]> byStore = new LinkedHashMap<>();
        Map<java.nio.file.FileStore, Path> where = new LinkedHashMap<>();
        for (var e : need.entrySet()) {
            Path existing = e.getKey();
            while (existing != null && !Files.exists(existing)) {
                existing = existing.getParent();
            }
            if (existing == null) {
                continue;
            }
            try {
                java.nio.file.FileStore store = Files.getFileStore(existing);
                long[] acc = byStore.computeIfAbsent(store, k -> new long[] {0, 0});
                acc[0] += e.getValue();
                acc[1] += forceClean && existing.equals(e.getKey()) ? usedBytes(existing) : 0;
                where.putIfAbsent(store, e.getKey());
            } catch (IOException ex) {
                // free space not known here: the server's own error will say so
            }
        }
        for (var e : byStore.entrySet()) {
            try {
                long free = e.getKey().getUsableSpace() + e.getValue()[1];
                if (e.getValue()[0] > free) {
                    throw ChronoException.failed("the restored cluster needs about " + mib(e.getValue()[0]) + " where " + where.get(e.getKey())
                            + " is written, and its filesystem has " + mib(free) + " free; nothing was written",
                            "free space there, or restore into a --data-dir (and --tablespace-map) on a larger filesystem");
                }
            } catch (IOException ex) {
                // as above
            }
        }
    }

    private static long usedBytes(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException | java.io.UncheckedIOException e) {
            return 0;
        }
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    /**
     * A gap after the base backup's end caps what it can reach: refuse, before anything is
     * touched, a target that needs WAL beyond the gap, rather than let the server replay to
     * the gap and stop short.
     */
    private static void refuseTargetPastGap(PitrCatalog catalog, PhysicalBackupInfo base, RecoveryTarget target, String gap) {
        String tli = String.format("%08X", base.timeline());
        Optional<WalArchive.Entry> lastBefore = catalog.wal().stream().filter(WalArchive.Entry::isSegment)
                .filter(e -> e.timeline().equals(tli) && e.name().compareTo(gap) < 0).reduce((a, b) -> b);
        String reach = lastBefore.map(e -> "about " + e.archivedAt().atOffset(java.time.ZoneOffset.UTC)).orElse("the base backup's end");
        Lsn gapStart = Lsn.segmentStart(gap, base.walSegmentSize());
        boolean needsGap = switch (target.kind()) {
            case TIME -> lastBefore.isEmpty() || target.time().toInstant().isAfter(lastBefore.get().archivedAt());
            case LSN -> target.lsn().compareTo(gapStart) >= 0;
            case NAME -> restorePoint(catalog, target.name())
                    .map(p -> lastBefore.isEmpty() || p.createdAt().toInstant().isAfter(lastBefore.get().archivedAt())).orElse(true);
            case IMMEDIATE -> false;
            case LATEST -> false; // the end of what is archived: recovery stops at the gap, and the warning says so
        };
        if (needsGap) {
            throw ChronoException.failed("WAL segment " + gap + " is missing from the archive; from base backup " + base.id()
                            + " recovery can reach " + reach + " (LSN " + gapStart + "), not the target " + target,
                    "choose an earlier target, recover the segment into the archive, or take a new base backup");
        }
    }

    /**
     * Everything that can be checked is checked before anything is written: the port, the
     * target, the directories (new, empty, or with --force-clean left by a failed restore)
     * and the WAL to replay. Each directory is marked first ({@link RestoreMark}); a failed
     * restore leaves its files (the server log among them) and says how to retry.
     */
    public PitrRestoreResult restore(PitrRestoreRequest req) {
        List<Path> copies = new ArrayList<>();
        try {
            return restore(req, copies);
        } finally {
            copies.forEach(Repository::removeSpooled); // a base backup copied from object storage
        }
    }

    /** A restore point recorded by restore-point, in a directory or a bucket. */
    private static Optional<RestorePointResult> restorePoint(PitrCatalog catalog, String name) {
        return RestorePoints.find(catalog.repository(), name);
    }

    private PitrRestoreResult restore(PitrRestoreRequest req, List<Path> copies) {
        long t0 = System.nanoTime();
        ServerPort.requireFree(req.port());
        List<String> warnings = new ArrayList<>();
        // Only base backups whose state says they can be restored, and the chosen one must pass its
        // checksum check now; a damaged one is named and the next older one that fits the target is taken.
        Repository repository = Repository.open(req.repo());
        BackupCatalog backups = BackupCatalog.of(repository);
        PitrCatalog all = PitrCatalog.of(repository);
        PitrCatalog catalog = all.onlyRestorable(backups);
        PhysicalBackupInfo base;
        while (true) {
            PhysicalBackupInfo candidate = choose(catalog, req.target(), warnings);
            List<String> problems = backups.all().stream().filter(b -> b.id().equals(candidate.id())).findFirst()
                    .map(b -> BackupVerifier.checksums(backups.repo(), b)).orElse(List.of("not in the catalog"));
            String chain = problems.isEmpty() ? all.chainProblem(candidate, backups) : null; // an incremental needs its whole chain
            problems = chain == null ? problems : List.of(chain);
            if (problems.isEmpty()) {
                base = candidate;
                break;
            }
            String skipped = "passed over base backup " + candidate.id() + ", damaged: " + String.join("; ", problems);
            warnings.add(skipped);
            catalog = catalog.onlyBases(id -> !id.equals(candidate.id()));
        }
        int major = new PgVersion(base.serverVersionNum()).major();
        Path bin = binDir(req.binDir(), major);
        Path data = req.dataDir().toAbsolutePath().normalize();
        Path dir;
        IncrementalRestore incremental = IncrementalRestore.of(all, base, bin, env, runner); // null for a full base backup
        if (repository.remote()) {
            requireUsable(data, "--data-dir " + data, req.forceClean()); // before the copy, which can take a while
            // the tars are read whole and in order: a copy in the spool (its objects passed the checksum check above), removed at the end
            PhysicalBackupInfo chosen = base;
            if (incremental != null) {
                incremental.fetch(copies); // the whole chain, before anything is written
                dir = incremental.dir(base);
            } else {
                dir = repository.localCopy(backups.all().stream().filter(b -> b.id().equals(chosen.id())).findFirst().orElseThrow());
                copies.add(dir);
            }
        } else {
            dir = catalog.baseDir(base);
        }
        Map<PhysicalBackupInfo.Tablespace, Path> spaces = RestoredTablespaces.destinations(base, dir, req.tablespaceMap(), data, req.forceClean());
        requireUsable(data, "--data-dir " + data, req.forceClean()); // before the scan, which can take a while
        PhysicalBackupInfo chosenBase = base;
        backups.all().stream().filter(b -> b.id().equals(chosenBase.id())).findFirst()
                .ifPresent(b -> requireSpace(b.manifest(), chosenBase, data, spaces, req.forceClean()));
        // the key is unlocked now, and opens the base and every file the scan reads: a wrong one is found before anything is written
        SecretKeys keys = req.keys() == null ? null : req.keys().unlock(EncryptionSection::passphrase);
        List<Recipient> recorded = backups.all().stream().filter(b -> b.id().equals(chosenBase.id())).findFirst()
                .map(b -> b.manifest() == null || b.manifest().encryption() == null ? List.<Recipient>of() : b.manifest().encryption().recipients())
                .orElse(List.of());
        requireKeyForBase(dir, keys, recorded);
        RestoredTablespaces.requireRecorded(base, dir, keys, recorded);
        ReplayedTablespaces.Scan scan = new ReplayedTablespaces(runner, bin, major).scan(catalog, base, req.target(), keys);
        List<Path> replayDirs = ReplayedTablespaces.requireUnused(scan.created(), data, spaces.values(), req.forceClean());
        requireServerCanFetch(req, scan.lastSegment());
        ServerPort.requireFree(req.port()); // again: the scan can take minutes

        // from here on the restore writes: every directory is marked before it is filled
        String id = RestoreMark.newId();
        Map<Path, String> written = new LinkedHashMap<>();
        written.put(data, "--data-dir " + data);
        spaces.forEach((ts, d) -> written.put(d, "tablespace " + ts.name() + "'s directory " + d));
        replayDirs.forEach(p -> written.put(p, "directory " + p));
        try {
            for (var w : written.entrySet()) {
                if (req.forceClean()) {
                    RestoreMark.clean(w.getKey(), w.getValue());
                }
                boolean existed = Files.exists(w.getKey());
                prepareEmpty(w.getKey(), w.getValue());
                RestoreMark.write(w.getKey(), id);
                if (replayDirs.contains(w.getKey())) {
                    warnings.add("the WAL replayed creates a tablespace at " + w.getKey() + (existed
                            ? ", an empty directory: made the postgres OS user's, mode 0700, for recovery"
                            : ", which did not exist: made it, empty, for recovery"));
                }
            }
            long tFiles = System.nanoTime();
            if (incremental != null) {
                incremental.combineInto(data, keys, recorded);
            } else {
                extract(dir.resolve(findBaseFile(dir)), data, keys, recorded);
            }
            extractWal(dir, data, keys, recorded);
            for (var ts : spaces.entrySet()) {
                extract(dir.resolve(PhysicalBackupService.findTar(dir, ts.getKey().tarName()).orElseThrow()), ts.getValue(), keys, recorded);
            }
            RestoredTablespaces.writeMap(data, spaces);
            long filesMs = (System.nanoTime() - tFiles) / 1_000_000;
            long tRecovery = System.nanoTime();
            KeyFiles recoveryKeys = RecoveryKeys.place(data, req.keys());
            writeRecoverySettings(data, req, base, scan.lastSegment(), recoveryKeys);
            handOver(data);
            spaces.values().forEach(PitrRestoreService::handOver);
            replayDirs.forEach(PitrRestoreService::handOver);
            Path log = data.resolve("pitr-restore.log");
            start(bin, data, log, req);
            waitForPromotion(bin, data, log, req.timeout());
            RecoveryKeys.remove(data); // promoted: restore_command is not run again
            requireReplayedToTheEnd(bin, data, log, req, scan.lastSegment(), base.walSegmentSize());
            written.keySet().forEach(RestoreMark::remove); // the recovered cluster is the user's now
            String text = readLog(log);
            return new PitrRestoreResult(req.target().toString(), base.id(), base.stopTime(), data.toString(), req.port(),
                    match(STOPPING, text), match(LAST_TX, text), match(NEW_TLI, text), (System.nanoTime() - t0) / 1_000_000,
                    filesMs, (System.nanoTime() - tRecovery) / 1_000_000, log.toString(), warnings);
        } catch (ChronoException e) {
            if (!Files.exists(data.resolve("postmaster.pid"))) {
                RecoveryKeys.remove(data); // no server left to run restore_command: the copies of the key go
            }
            throw new ChronoException(e.exitCode(), e.getMessage(), retryHint(e.hint(), written.keySet()), e);
        }
    }

    /**
     * An encrypted base backup needs a key that opens it: its header is read and its session
     * key opened now, before anything is written (exit 3 naming the key it needs).
     */
    private static void requireKeyForBase(Path dir, SecretKeys keys, List<Recipient> recorded) {
        String base = findBaseFile(dir);
        if (!base.endsWith(BackupManifest.ENCRYPTED_SUFFIX)) {
            return;
        }
        try (InputStream in = OpenPgp.decrypt(new BufferedInputStream(Files.newInputStream(dir.resolve(base)), 1 << 16), keys,
                dir.getFileName() + "/" + base, recorded)) {
            in.read(new byte[1]);
        } catch (IOException e) {
            throw ChronoException.failed("cannot read " + dir.resolve(base) + ": " + e.getMessage(), null);
        }
    }

    private static String retryHint(String hint, java.util.Collection<Path> dirs) {
        String retry = "to retry, run the same command with --force-clean: it empties " + String.join(", ", dirs.stream().map(Path::toString).toList())
                + ", which this restore wrote and marked";
        return hint == null ? retry : hint + "; " + retry;
    }

    /** The server runs restore_command (wal-fetch) with its own environment: the bucket's settings go there, never into a file. */
    private ProcessRunner serverRunner(PitrRestoreRequest req) {
        if (!req.repo().isS3()) {
            return runner;
        }
        Map<String, String> env = new LinkedHashMap<>(runner.baseEnv());
        env.putAll(req.repo().serverEnvironment());
        return new ProcessRunner(env);
    }

    /**
     * The recovering server runs restore_command as its own OS user (postgres, when this runs
     * as root), and PostgreSQL takes a failing restore_command for "no more WAL": a launcher
     * that user cannot run (one under /root), an archive it cannot read (written by a
     * wal-receive or wal-push run as root, 0600) or a key file it cannot open would end
     * recovery at the first segment asked for, and the server would promote with only the
     * WAL the base backup carries. So the last segment the scan read is fetched now, exactly
     * as restore_command will fetch it (the same user, environment, launcher and flags), into
     * a private scratch directory, before anything is written.
     */
    private void requireServerCanFetch(PitrRestoreRequest req, String last) {
        if (last == null) {
            return;
        }
        Path scratch = null;
        try {
            scratch = Files.createTempDirectory("chrono-dr-fetch-check-");
            KeyFiles keys = RecoveryKeys.place(scratch, req.keys());
            ServiceUser.handOver(scratch);
            List<String> argv = new ArrayList<>(req.launcher());
            argv.addAll(List.of("wal-fetch", "--repo", req.repo().toString(), "--until", last));
            if (keys != null) {
                argv.addAll(keys.flags());
            }
            argv.addAll(List.of(last, scratch.resolve(last).toString()));
            ServiceUser.run(serverRunner(req), argv, scratch, Duration.ofMinutes(2));
        } catch (ChronoException e) {
            String user = ServiceUser.isRoot() ? "OS user " + ServiceUser.NAME : "this OS user";
            throw ChronoException.failed("the recovering server's restore_command cannot fetch WAL as " + user + ": " + firstLine(e.getMessage()),
                    "it runs " + String.join(" ", req.launcher()) + " wal-fetch --repo " + req.repo() + " as that user: the launcher, the "
                            + "repository's WAL files (e.g. chown -R " + ServiceUser.NAME + " REPO/wal when a process run as root wrote them) "
                            + "and any key file (and an S3 CA bundle, AWS_CA_BUNDLE) must be readable by it; nothing was written");
        } catch (IOException e) {
            throw ChronoException.failed("cannot check restore_command: " + e.getMessage(), "check free space in " + System.getProperty("java.io.tmpdir"));
        } finally {
            if (scratch != null) {
                ReplayedTablespaces.deleteQuietly(scratch);
            }
        }
    }

    private static String firstLine(String text) {
        String t = String.valueOf(text).strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    private static final Pattern REDO_DONE = Pattern.compile("LOG:\\s+redo done at ([0-9A-F]+/[0-9A-F]+)");

    /**
     * For {@code latest}, recovery must have replayed into the last segment the scan read, or
     * the one before it (the last record may start there): stopping sooner means restore_command
     * failed on the way, which PostgreSQL does not tell from the end of the archive. The
     * promoted copy is then stopped and the restore fails, never reported as done with less.
     */
    private void requireReplayedToTheEnd(Path bin, Path data, Path log, PitrRestoreRequest req, String last, int segSize) {
        if (req.target().kind() != RecoveryTarget.Kind.LATEST || last == null) {
            return;
        }
        Matcher m = REDO_DONE.matcher(readLog(log));
        Lsn redo = null;
        while (m.find()) {
            redo = Lsn.parse(m.group(1));
        }
        if (redo == null) {
            return; // no redo needed (a base backup with nothing after it): nothing was skipped
        }
        long floor = Lsn.segmentStart(last, segSize).value() - segSize;
        if (redo.value() >= floor) {
            return;
        }
        try {
            ServiceUser.run(runner, List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "stop"), null,
                    Duration.ofMinutes(2));
        } catch (ChronoException e) {
            // the failure below says what matters; the server's own log says why it did not stop
        }
        throw ChronoException.failed("recovery stopped at " + redo + ", but the archive holds WAL to segment " + last
                + ": restore_command failed on the way (its message is in " + log + "); the copy was stopped", null);
    }

    private void start(Path bin, Path data, Path log, PitrRestoreRequest req) {
        try {
            ProcessRunner server = serverRunner(req);
            ServiceUser.run(server, List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", log.toString(), "-w",
                    "-t", String.valueOf(req.timeout().toSeconds()), "start"), null, req.timeout().plusSeconds(30));
        } catch (ChronoException e) {
            String text = readLog(log);
            if (ServerPort.logSaysBusy(text)) {
                throw ServerPort.inUse(req.port(), "taken after the check: " + lastFatal(log).orElse("see " + log));
            }
            boolean recoveryEnded = text.contains("recovery ended before configured recovery target was reached");
            throw ChronoException.failed("recovery did not start or stopped early: " + lastFatal(log).orElse(e.getMessage()),
                    "see " + log + (recoveryEnded ? "; the target lies beyond the archived WAL" : ""), e);
        }
    }

    private Path binDir(Path given, int major) {
        if (given != null) {
            return given;
        }
        return ServerBinaries.find(env, major).orElseThrow(() -> ChronoException.unknown(
                "no PostgreSQL " + major + " server programs (pg_ctl, postgres) on this machine", ServerBinaries.INSTALL_HINT));
    }

    /**
     * Refuses a directory the restore may not write into (see {@link RestoreMark#refusal}):
     * a directory in use is bad input (64); one --force-clean may not empty, a refused action (1).
     */
    static void requireUsable(Path dir, String what, boolean forceClean) {
        RestoreMark.refusal(dir, what, forceClean).ifPresent(why -> {
            throw forceClean ? ChronoException.failed(why, "give a new or empty directory; nothing was deleted")
                    : ChronoException.usage(why, "give a new or empty directory; chrono-dr never overwrites a data directory");
        });
    }

    private static void prepareEmpty(Path data, String what) {
        try {
            if (Files.exists(data)) {
                requireUsable(data, what, false);
            } else {
                Files.createDirectories(data.getParent());
                Files.createDirectory(data);
            }
            Files.setPosixFilePermissions(data, AtomicFile.PRIVATE_DIR);
        } catch (IOException e) {
            throw ChronoException.failed("cannot prepare " + data + ": " + e.getMessage(), null);
        }
    }

    static String findBaseFile(Path dir) {
        return PhysicalBackupService.findTar(dir, PhysicalBackupInfo.BASE_FILE).orElseThrow(() -> ChronoException.failed("base backup " + dir + " has no base.tar file", null));
    }

    static boolean hasFiles(Path dir) {
        if (!Files.exists(dir)) {
            return false;
        }
        try (var ls = Files.list(dir)) {
            return ls.findAny().isPresent();
        } catch (IOException e) {
            throw ChronoException.failed("cannot read " + dir + ": " + e.getMessage(), null);
        }
    }

    /**
     * The WAL from the backup's start to its end, when the backup carries it (pg_basebackup
     * -X stream), goes into pg_wal: the copy then reaches consistency even without the
     * archive. Recovery still asks the archive first, which has the full segments.
     */
    static void extractWal(Path backupDir, Path data) {
        extractWal(backupDir, data, null, List.of());
    }

    static void extractWal(Path backupDir, Path data, SecretKeys keys, List<Recipient> recorded) {
        PhysicalBackupService.findTar(backupDir, PhysicalBackupService.WAL_TAR)
                .ifPresent(n -> extract(backupDir.resolve(n), data.resolve("pg_wal"), keys, recorded));
    }

    /** Unpacks one tar (regular files and directories only: pg_basebackup writes each tablespace as a tar of its own). */
    public static void extract(Path archive, Path data) {
        extract(archive, data, null, List.of());
    }

    /**
     * The same for an encrypted tar (NAME.tar.zst.gpg) too, decrypted with {@code keys} on the
     * way (null: none given, exit 3 naming the key); {@code recorded}: the manifest's recipients.
     */
    public static void extract(Path archive, Path data, SecretKeys keys, List<Recipient> recorded) {
        try (InputStream in = open(archive, keys, recorded);
             TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                Path p = data.resolve(e.getName()).normalize();
                if (!p.startsWith(data)) {
                    throw ChronoException.failed("base backup entry escapes the data directory: " + e.getName(), null);
                }
                if (e.isDirectory()) {
                    Files.createDirectories(p, AtomicFile.privateDir());
                } else if (e.isFile()) {
                    Files.createDirectories(p.getParent());
                    try (OutputStream out = Files.newOutputStream(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                        tar.transferTo(out);
                    }
                    Files.setPosixFilePermissions(p, AtomicFile.PRIVATE_FILE);
                } else {
                    throw ChronoException.failed("base backup entry " + e.getName() + " is a link or device, which pg_basebackup's tars do not hold", null);
                }
            }
            // to the end: an encrypted file's integrity check (MDC) is there
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            throw ChronoException.failed("cannot extract " + archive + ": " + e.getMessage(), "check free space in " + data, e);
        }
    }

    /** One stored tar's content: decrypted (NAME.tar.zst.gpg, with {@code keys}) and decompressed, as its name says. */
    static InputStream open(Path archive, SecretKeys keys, List<Recipient> recorded) throws IOException {
        String name = archive.getFileName().toString();
        boolean sealed = name.endsWith(BackupManifest.ENCRYPTED_SUFFIX);
        String packed = sealed ? name.substring(0, name.length() - BackupManifest.ENCRYPTED_SUFFIX.length()) : name;
        InputStream stored = new BufferedInputStream(Files.newInputStream(archive), 1 << 20);
        try {
            return Compression.decompress(Compression.ofFile(packed),
                    sealed ? OpenPgp.decrypt(stored, keys, archive.getParent().getFileName() + "/" + name, recorded) : stored);
        } catch (IOException | RuntimeException e) {
            stored.close();
            throw e;
        }
    }

    /**
     * Appended to postgresql.auto.conf, so it wins over the backup's own settings. The copy
     * does not archive: it would push a second history into the live server's archive.
     */
    private static void writeRecoverySettings(Path data, PitrRestoreRequest req, PhysicalBackupInfo base, String until, KeyFiles keys) {
        StringBuilder b = new StringBuilder("\n# chrono-dr pitr restore from base backup ").append(base.id()).append('\n');
        b.append("restore_command = ").append(conf(ArchiveCommand.fetchSpooled(req.launcher(), req.repo().toString(), until, keys))).append('\n');
        if (req.target().setting() != null) {
            b.append(req.target().setting()).append(" = ").append(conf(req.target().value())).append('\n');
        }
        b.append("recovery_target_action = 'promote'\n");
        // the base backup's timeline: 'latest' could follow a history made by an earlier restore
        b.append("recovery_target_timeline = 'current'\n");
        b.append("port = ").append(req.port()).append('\n');
        b.append("archive_mode = 'off'\n");
        // a base backup taken from a standby carries its connection to the primary: never follow it past the archive
        b.append("primary_conninfo = ''\n");
        b.append("primary_slot_name = ''\n");
        try {
            Files.writeString(data.resolve("postgresql.auto.conf"), b.toString(), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            Files.deleteIfExists(data.resolve("standby.signal")); // with both, the server would stay a standby
            Files.writeString(data.resolve("recovery.signal"), "", StandardOpenOption.CREATE);
            Files.setPosixFilePermissions(data.resolve("recovery.signal"), AtomicFile.PRIVATE_FILE);
        } catch (IOException e) {
            throw ChronoException.failed("cannot write recovery settings in " + data + ": " + e.getMessage(), null);
        }
    }

    static String conf(String v) {
        return "'" + v.replace("'", "''") + "'";
    }

    private void waitForPromotion(Path bin, Path data, Path log, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String state = controlState(bin, data);
            if (state.equals("in production")) {
                return;
            }
            if (!Files.exists(data.resolve("postmaster.pid"))) {
                throw ChronoException.failed("the recovering server stopped: " + lastFatal(log).orElse("state " + state),
                        "see " + log);
            }
            if (System.nanoTime() > deadline) {
                throw ChronoException.failed("recovery has not finished after " + timeout.toSeconds() + " s (state: " + state
                        + "); the server is left running", "see " + log);
            }
            PhysicalBackupService.sleep(200);
        }
    }

    private String controlState(Path bin, Path data) {
        var r = runner.run(ProcessSpec.of(bin.resolve("pg_controldata").toString(), data.toString())
                .withTimeout(Duration.ofSeconds(30)).withoutEnv(List.of("PGDATA")));
        for (String line : r.stdout().split("\n")) {
            if (line.startsWith("Database cluster state:")) {
                return line.substring(line.indexOf(':') + 1).strip();
            }
        }
        return "unknown";
    }

    private static String readLog(Path log) {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static Optional<String> lastFatal(Path log) {
        String last = null;
        for (String line : readLog(log).split("\n")) {
            if (line.contains("FATAL:") || line.contains("PANIC:")) {
                last = line.substring(line.indexOf(line.contains("FATAL:") ? "FATAL:" : "PANIC:")).strip();
            }
        }
        return Optional.ofNullable(last);
    }

    private static String match(Pattern p, String text) {
        String found = null;
        Matcher m = p.matcher(text);
        while (m.find()) {
            found = m.group(1).strip();
        }
        return found;
    }

    /** PostgreSQL refuses to run as root: as root, the data directory goes to the postgres OS user. */
    private static void handOver(Path data) {
        ServiceUser.handOver(data);
    }
}
