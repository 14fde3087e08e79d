package dev.chronodr.drill;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.backup.PhysicalBackupService;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Environment;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Progress;
import dev.chronodr.drill.DrillReport.Objective;
import dev.chronodr.drill.DrillReport.Outcome;
import dev.chronodr.drill.DrillReport.Step;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.pg.TableDigest;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.recover.RecoveryRecord;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StoredBackup;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.report.TextOutput;
import dev.chronodr.restore.PitrRestoreRequest;
import dev.chronodr.restore.PitrRestoreResult;
import dev.chronodr.restore.PitrRestoreService;
import dev.chronodr.restore.RecoveryTarget;

/**
 * {@code dr-test --pitr}: the drill for point-in-time recovery. Picks the newest good base
 * backup (or takes one), measures the data-loss window, sets a restore point with the
 * critical tables captured exactly at it ({@link PointCapture}), has the WAL holding it
 * archived, restores the base backup into a scratch cluster on a free port and replays to
 * the point ({@link PitrRestoreService}), proves the copy reached the point and holds what
 * the live database held there, runs verify's checks on it, and always stops and removes
 * the copy ({@link PitrScratch}).
 */
public final class PitrDrillService {
    private static final Logger log = LoggerFactory.getLogger(PitrDrillService.class);
    private static final DateTimeFormatter POINT_STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");
    /** How long writers to the critical tables may be held off while the drill waits for its lock. */
    static final Duration LOCK_TIMEOUT = Duration.ofSeconds(10);

    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final Progress progress;
    private final String version;
    private final Environment env;

    public PitrDrillService(ProcessRunner runner, ToolLocator locator, Progress progress, String chronoDrVersion, Environment env) {
        this.runner = runner;
        this.locator = locator;
        this.progress = progress;
        this.version = chronoDrVersion;
        this.env = env;
    }

    public PitrDrillReport run(Target source, PitrDrillRequest req) {
        OffsetDateTime started = Clock.now();
        Repository repo = Repository.open(source.repo());
        String database = source.connection().dbname();
        BackupCatalog backups = BackupCatalog.of(repo);
        if (!req.fresh() && backups.baseBackups().isEmpty()) {
            throw ChronoException.usage("no physical base backup in " + repo.location() + " to drill point-in-time recovery from",
                    "take one with: chrono-dr backup --type physical --repo " + repo.location() + " (or run dr-test --pitr --fresh)");
        }
        ServerInfo server = probe(source.connection());
        try (Connection c = Database.connect(source.connection())) {
            PointCapture.resolve(c, source.criticalTables()); // a name that is no table is bad input before anything is taken
        } catch (SQLException e) {
            throw ChronoException.unknown("cannot read the tables of " + database + ": " + e.getMessage(), null);
        }
        int major = server.version().major();
        Path bin = ServerBinaries.find(env, major).orElseThrow(() -> ChronoException.unknown(
                "no PostgreSQL " + major + " server programs (pg_ctl, postgres, pg_waldump) on this machine to run the drill's copy",
                ServerBinaries.INSTALL_HINT));
        List<String> leftovers = PitrScratch.sweep(repo, runner, bin);
        Run run = new Run(database, started);
        run.leftovers = leftovers;

        // 1. The base backup.
        long t = System.nanoTime();
        try {
            if (req.fresh()) {
                run.base = new PhysicalBackupService(runner, locator, progress, version, Duration.ofMinutes(5))
                        .backup(source, "dr-test", Compression.DEFAULT, req.recipients()).id();
                run.fresh = true;
                run.steps.add(step("base-backup", Outcome.PASSED, t, "took " + run.base, List.of()));
            } else {
                BackupCatalog.Proof proof = backups.proveNewest(backups.baseBackups(), PitrCatalog.walCheck(repo));
                Optional<StoredBackup> b = proof.backup();
                if (b.isEmpty()) {
                    run.steps.add(step("base-backup", Outcome.FAILED, t, "no base backup in " + repo.location()
                            + " passes its checksum and WAL checks", proof.passedOver()));
                    return finish(run, req, repo);
                }
                run.base = b.get().id();
                run.steps.add(step("base-backup", Outcome.PASSED, t, "using " + run.base + (proof.passedOver().isEmpty() ? ""
                        : ", the newest that passes its checks"), proof.passedOver()));
            }
        } catch (ChronoException e) {
            run.steps.add(step("base-backup", Outcome.ERROR, t, e.getMessage(), List.of()));
            return finish(run, req, repo);
        }

        // The data-loss window, before the drill's own switch archives everything.
        t = System.nanoTime();
        try (Connection c = Database.connect(source.connection())) {
            DataLossWindow.Measured w = DataLossWindow.measure(c, repo, bin, runner, secretKeys(req));
            run.window = window(w, req.rpo());
            run.steps.add(new Step("data-loss-window", w.seconds() == null || (!w.exact() && !run.window.met()) ? Outcome.SKIPPED
                    : run.window.met() ? Outcome.PASSED : Outcome.FAILED, (System.nanoTime() - t) / 1_000_000, run.window.what(), List.of()));
        } catch (SQLException e) {
            run.steps.add(step("data-loss-window", Outcome.SKIPPED, t, "could not measure: " + e.getMessage(), List.of()));
        }

        // 2. The restore point, with the critical tables captured exactly at it.
        t = System.nanoTime();
        String pointName = "dr-test-pitr-" + POINT_STAMP.format(started.withOffsetSameInstant(ZoneOffset.UTC));
        PointCapture.Captured captured;
        try {
            captured = PointCapture.capture(source.connection(), repo, pointName, source.criticalTables(), LOCK_TIMEOUT);
        } catch (ChronoException e) {
            if (e.exitCode() == ExitCode.USAGE) {
                throw e;
            }
            run.steps.add(step("restore-point", Outcome.ERROR, t, e.getMessage(), List.of()));
            return finish(run, req, repo);
        }
        var p = captured.point();
        run.point = new PitrDrillReport.RestorePoint(p.name(), p.lsn(), p.walFile(), p.createdAt());
        run.lockMillis = captured.lockMillis();
        captured.tables().forEach(x -> run.tables.put(x.qualifiedName(), new PitrDrillReport.TableProof(x.qualifiedName(), x.rows(), x.digest(), null, null)));
        run.steps.add(step("restore-point", Outcome.PASSED, t, "'" + p.name() + "' at " + p.lsn() + " with " + captured.tables().size()
                + " critical table(s) counted and digested at it; writers to them held off " + captured.lockMillis() + " ms", List.of()));

        // 3. The WAL holding the point, archived.
        t = System.nanoTime();
        try {
            switchAndWait(source.connection(), repo, p.walFile(), req.archiveWait());
            run.steps.add(step("archive", Outcome.PASSED, t, p.walFile() + " archived", List.of()));
        } catch (ChronoException e) {
            run.steps.add(step("archive", Outcome.ERROR, t, e.getMessage(), List.of()));
            return finish(run, req, repo);
        }

        // 4..6 Restore into a scratch cluster, prove it, always remove it.
        PitrScratch scratch = PitrScratch.create(repo, runner, started);
        scratch.serverPrograms(bin);
        run.scratchDir = scratch.dir().toString();
        run.port = scratch.port();
        Thread cleanupOnInterrupt = new Thread(scratch::close, "dr-test-pitr-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanupOnInterrupt);
        try {
            t = System.nanoTime();
            PitrRestoreResult restored;
            try {
                restored = new PitrRestoreService(runner, env).restore(new PitrRestoreRequest(source.repo(), RecoveryTarget.name(p.name()),
                        scratch.dataDir(), scratch.port(), req.launcher(), bin, req.recoveryTimeout(), tablespaceMap(repo, scratch), false,
                        req.keys()));
            } catch (ChronoException e) {
                run.steps.add(restoreFailure(e, repo, run.base, p.walFile(), t, secretKeys(req)));
                return finish(run, req, repo);
            }
            run.base = restored.baseBackup();
            run.restoreMillis = restored.durationMs();
            run.steps.add(new Step("pitr-restore", Outcome.PASSED, restored.durationMs(), "base backup " + restored.baseBackup() + " into "
                    + scratch.dataDir() + " on port " + scratch.port() + ": files " + TextOutput.duration(Duration.ofMillis(restored.filesMs()))
                    + ", WAL replay to promotion " + TextOutput.duration(Duration.ofMillis(restored.recoveryMs())), restored.warnings()));

            ConnectionSettings copy = new ConnectionSettings("127.0.0.1", scratch.port(), database, source.connection().user(),
                    source.connection().password(), "prefer");
            run.steps.add(reached(copy, restored, p.name()));
            run.steps.add(compare(copy, captured.tables(), run));
            Target copyTarget = new Target(source.name(), copy, ExecSettings.local(), source.repo(), source.config(), false);
            run.steps.add(new DrillService(runner, locator, progress, version).integrity(copyTarget, database, 2, req.deep(),
                    dev.chronodr.verify.VerifyRequest.DEFAULT_STATEMENT_TIMEOUT));
        } finally {
            scratch.close();
            try {
                Runtime.getRuntime().removeShutdownHook(cleanupOnInterrupt);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway; close() runs once
            }
        }
        return finish(run, req, repo);
    }

    /** What one drill has found so far. */
    private static final class Run {
        final String database;
        final OffsetDateTime started;
        final List<Step> steps = new ArrayList<>();
        final Map<String, PitrDrillReport.TableProof> tables = new LinkedHashMap<>();
        String base;
        boolean fresh;
        PitrDrillReport.RestorePoint point;
        Long lockMillis;
        String scratchDir;
        Integer port;
        Long restoreMillis;
        Objective window;
        List<String> leftovers = List.of();

        Run(String database, OffsetDateTime started) {
            this.database = database;
            this.started = started;
        }
    }

    private static Objective window(DataLossWindow.Measured w, Duration rpo) {
        String against = " against an RPO of " + rpo.toMinutes() + " min";
        if (w.seconds() == null) {
            return new Objective(rpo.toSeconds(), null, false, "not measured: " + w.why());
        }
        boolean met = w.seconds() <= rpo.toSeconds();
        String what;
        if (w.seconds() == 0 && w.archivedCommit() == null) {
            what = "0 s: every byte of WAL the server had written was archived" + against;
        } else if (w.exact()) {
            what = w.seconds() + " s between the newest commit on the server (" + w.liveCommit() + ") and the newest the archive can restore ("
                    + w.archivedCommit() + ")" + against + (met ? "" : ": MISSED");
        } else {
            what = "at most " + w.seconds() + " s: the newest commit the archive can restore is of " + w.archivedCommit()
                    + " (track_commit_timestamp is off, so the server's clock stands for its newest commit)" + against
                    + (met ? "" : ": cannot tell whether it is missed; set track_commit_timestamp = on for an exact figure");
        }
        return new Objective(rpo.toSeconds(), w.seconds(), met, what);
    }

    /** pg_switch_wal, then wait until the archive holds the segment with the point (pg_stat_archiver named when it fails). */
    private static void switchAndWait(ConnectionSettings live, Repository repo, String walFile, Duration wait) {
        WalArchive archive = new WalArchive(repo);
        long deadline = System.nanoTime() + wait.toNanos();
        try (Connection c = Database.connect(live); Statement st = c.createStatement()) {
            st.execute("SELECT pg_switch_wal()");
            while (!archive.contains(walFile)) {
                if (System.nanoTime() > deadline) {
                    String archiver = "";
                    try (ResultSet rs = st.executeQuery("SELECT last_archived_wal, last_failed_wal, failed_count FROM pg_stat_archiver")) {
                        rs.next();
                        archiver = " (pg_stat_archiver: last archived " + rs.getString(1) + ", last failed " + rs.getString(2) + ", "
                                + rs.getLong(3) + " failure(s))";
                    }
                    throw ChronoException.failed("WAL file " + walFile + ", which holds the drill's restore point, was not archived within "
                            + wait.toSeconds() + " s" + archiver, "check archive_command (chrono-dr pitr setup) or that wal-receive runs");
                }
                PhysicalBackupService.sleep(200);
            }
        } catch (SQLException e) {
            throw ChronoException.failed("cannot switch the WAL file: " + e.getMessage(), "the drill's role needs pg_switch_wal (a superuser, "
                    + "or GRANT EXECUTE ON FUNCTION pg_switch_wal)");
        }
    }

    /** Every tablespace of the repository's base backups goes into the scratch directory, never back where the live one is. */
    private static Map<String, Path> tablespaceMap(Repository repo, PitrScratch scratch) {
        Map<String, Path> map = new LinkedHashMap<>();
        for (PhysicalBackupInfo b : PitrCatalog.of(repo).bases()) {
            b.tablespaces().forEach(ts -> map.putIfAbsent(ts.name(), scratch.dir().resolve("tablespaces").resolve(String.valueOf(ts.oid()))));
        }
        return map;
    }

    /**
     * A restore that failed: a damaged or missing WAL segment between the base backup's start
     * and the point is named (the drill failed: 2), as is a replay that stopped; what kept the
     * drill from trying (port, space, programs) is an action failure (1).
     */
    private static Step restoreFailure(ChronoException e, Repository repo, String baseId, String pointFile, long t,
                                       java.util.function.Supplier<dev.chronodr.crypto.SecretKeys> keys) {
        Optional<PhysicalBackupInfo> base = PitrCatalog.of(repo).bases().stream().filter(b -> b.id().equals(baseId)).findFirst();
        Optional<String> damaged = e.exitCode() == ExitCode.UNKNOWN ? Optional.empty() // no key that opens it: not damage
                : base.flatMap(b -> damagedSegment(repo, b, pointFile, keys));
        if (damaged.isPresent()) {
            // the restore's own words only when they add something (it may have stopped elsewhere first)
            return step("pitr-restore", Outcome.FAILED, t, damaged.get(),
                    e.getMessage() == null || damaged.get().contains(e.getMessage()) ? List.of() : List.of("restore: " + e.getMessage()));
        }
        String m = e.getMessage() == null ? "" : e.getMessage();
        boolean replay = e.exitCode() == ExitCode.CRITICAL || m.contains("recovery") || m.contains("WAL") || m.contains("pg_waldump")
                || m.contains("restore point");
        return step("pitr-restore", replay ? Outcome.FAILED : Outcome.ERROR, t, (replay ? "replay to the restore point failed: " : "") + m,
                e.hint() == null ? List.of() : List.of(e.hint()));
    }

    /** The first segment from the base backup's start to the point's that is missing or fails its checksum, as a line naming it. */
    /** The secret key of --decrypt-key, unlocked when an encrypted file first asks (null: none given). */
    private static java.util.function.Supplier<dev.chronodr.crypto.SecretKeys> secretKeys(PitrDrillRequest req) {
        return req.keys() == null ? () -> null : req.keys().lazily(dev.chronodr.config.EncryptionSection::passphrase);
    }

    static Optional<String> damagedSegment(Repository repo, PhysicalBackupInfo base, String pointFile) {
        return damagedSegment(repo, base, pointFile, () -> null);
    }

    static Optional<String> damagedSegment(Repository repo, PhysicalBackupInfo base, String pointFile,
                                           java.util.function.Supplier<dev.chronodr.crypto.SecretKeys> keys) {
        WalArchive archive = new WalArchive(repo);
        String end = pointFile.substring(0, 8).equals(String.format("%08X", base.timeline())) ? pointFile
                : String.format("%08X", base.timeline()) + pointFile.substring(8);
        Path tmp = null;
        try {
            tmp = Files.createTempDirectory("chrono-dr-walcheck-");
            for (String name = base.startWalFile(); name.compareTo(end) <= 0; name = PitrCatalog.next(name, base.walSegmentSize())) {
                Path f = tmp.resolve(name);
                try {
                    if (archive.fetch(name, f, keys).isEmpty()) {
                        return Optional.of("WAL segment " + name + " is missing from the archive, between base backup " + base.id()
                                + " and the restore point");
                    }
                } catch (ChronoException e) {
                    return Optional.of("WAL segment " + name + " is damaged in the archive: " + e.getMessage());
                } finally {
                    Files.deleteIfExists(f);
                }
            }
        } catch (java.io.IOException e) {
            log.warn("could not check the archived WAL: {}", e.getMessage());
        } finally {
            if (tmp != null) {
                tmp.toFile().delete();
            }
        }
        return Optional.empty();
    }

    /** The copy is out of recovery, and its server says recovery stopped at the drill's restore point. */
    private static Step reached(ConnectionSettings copy, PitrRestoreResult restored, String pointName) {
        long t = System.nanoTime();
        String stopped = restored.stoppedAt() == null ? "" : restored.stoppedAt();
        try (Connection c = Database.connect(copy); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            boolean atPoint = stopped.contains("restore point \"" + pointName + "\"");
            if (rs.getBoolean(1) || !atPoint) {
                return step("target", Outcome.FAILED, t, "the copy did not stop at restore point '" + pointName + "'",
                        List.of("server log: " + (stopped.isEmpty() ? "no 'recovery stopping' line" : stopped), "log: " + restored.logFile()));
            }
            return step("target", Outcome.PASSED, t, stopped + "; promoted" + (restored.lastTransaction() == null ? ""
                    : ", last transaction at " + restored.lastTransaction()), List.of());
        } catch (SQLException | ChronoException e) {
            return step("target", Outcome.ERROR, t, "cannot connect to the copy on port " + copy.port() + ": " + e.getMessage(),
                    List.of("the copy keeps the live server's pg_hba.conf and listen_addresses: it must accept " + copy.user()
                            + " from 127.0.0.1"));
        }
    }

    /** Each critical table in the copy: the same row count and digest as the live database had at the point. */
    private static Step compare(ConnectionSettings copy, List<PointCapture.Table> captured, Run run) {
        long t = System.nanoTime();
        if (captured.isEmpty()) {
            return step("digests", Outcome.SKIPPED, t, "no critical_tables in the config: nothing was captured at the restore point"
                    + " (list them there for a proof of content)", List.of());
        }
        List<String> problems = new ArrayList<>();
        try (Connection c = Database.connect(copy)) {
            c.setAutoCommit(false);
            TableDigest.pinSettings(c);
            for (PointCapture.Table x : captured) {
                TableDigest.Digest d = TableDigest.like(c, x.schema(), x.name(), x.digest());
                run.tables.put(x.qualifiedName(), new PitrDrillReport.TableProof(x.qualifiedName(), x.rows(), x.digest(), d.rows(), d.value()));
                if (d.rows() != x.rows() || !d.value().equals(x.digest())) {
                    problems.add(x.qualifiedName() + ": " + d.rows() + " rows in the copy, " + x.rows() + " on the live server at the point"
                            + (d.rows() == x.rows() ? " (same count, different content)" : ""));
                }
            }
            c.rollback();
        } catch (SQLException | ChronoException e) {
            return step("digests", Outcome.ERROR, t, "could not read the copy: " + e.getMessage(), List.of());
        }
        return step("digests", problems.isEmpty() ? Outcome.PASSED : Outcome.FAILED, t, problems.isEmpty()
                ? "row counts and content of " + captured.size() + " critical table(s) identical to the live database's at the restore point"
                : problems.size() + " table(s) differ", problems);
    }

    private PitrDrillReport finish(Run run, PitrDrillRequest req, Repository repo) {
        Objective rto = null;
        if (run.restoreMillis != null) {
            boolean met = run.restoreMillis <= req.rto().toMillis();
            rto = new Objective(req.rto().toSeconds(), Math.max(1, Math.round(run.restoreMillis / 1000.0)), met,
                    "PITR restore (base backup files + WAL replay) took " + TextOutput.duration(Duration.ofMillis(run.restoreMillis))
                            + " against an RTO of " + req.rto().toMinutes() + " min" + (met ? "" : ": MISSED"));
            run.steps.add(new Step("rto", met ? Outcome.PASSED : Outcome.FAILED, 0, rto.what(), List.of()));
        }
        Objective lastRecover = RecoveryRecord.last(repo).map(r -> {
            boolean met = r.totalMillis() <= req.rto().toMillis();
            return new Objective(req.rto().toSeconds(), r.totalMillis() / 1000, met, "took " + TextOutput.duration(Duration.ofMillis(r.totalMillis()))
                    + " on " + r.startedAt().withOffsetSameInstant(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS) + " (" + r.outcome()
                    + ") against an RTO of " + req.rto().toMinutes() + " min" + (met ? "" : ": MISSED"));
        }).orElse(null);
        return new PitrDrillReport(run.database, run.base, run.fresh, run.point, List.copyOf(run.tables.values()), run.lockMillis,
                run.scratchDir, run.port, run.started, List.copyOf(run.steps), rto, run.window, lastRecover, run.leftovers,
                Duration.between(run.started, Clock.now()).toMillis());
    }

    private static ServerInfo probe(ConnectionSettings s) {
        try (Connection c = Database.connect(s)) {
            return ServerInfo.probe(c);
        } catch (SQLException e) {
            throw ChronoException.critical("cannot read server information from " + s.describe() + ": " + e.getMessage(), null, e);
        }
    }

    private static Step step(String name, Outcome outcome, long t0, String message, List<String> details) {
        return new Step(name, outcome, Duration.ofNanos(System.nanoTime() - t0).toMillis(), message, List.copyOf(details));
    }
}
