package dev.chronodr.drill;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.backup.BackupRequest;
import dev.chronodr.backup.BackupService;
import dev.chronodr.backup.BackupType;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.crypto.OpenPgp;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.crypto.SecretKeys;
import dev.chronodr.core.Clock;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Progress;
import dev.chronodr.drill.DrillReport.Objective;
import dev.chronodr.drill.DrillReport.Outcome;
import dev.chronodr.drill.DrillReport.Step;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.PgVersion;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.pg.TableDigest;
import dev.chronodr.pg.ToolFile;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.ArchiveToc;
import dev.chronodr.repo.BackupCatalog;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.BackupState;
import dev.chronodr.repo.BackupVerifier;
import dev.chronodr.repo.Compression;
import dev.chronodr.recover.RecoveryRecord;
import dev.chronodr.report.TextOutput;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StoredBackup;
import dev.chronodr.restore.RestoreRequest;
import dev.chronodr.restore.RestoreResult;
import dev.chronodr.restore.RestoreService;
import dev.chronodr.restore.RestoreSource;
import dev.chronodr.restore.Verification;
import dev.chronodr.verify.CheckResult;
import dev.chronodr.verify.DatabaseChecks;
import dev.chronodr.verify.Scope;
import dev.chronodr.verify.VerifyContext;
import dev.chronodr.verify.VerifyReport;
import dev.chronodr.verify.VerifyRequest;
import dev.chronodr.verify.VerifyService;

/**
 * The disaster-recovery drill: back up (or pick a backup), prove its files, restore it
 * into a scratch database, prove the restore faithful (row counts, content digests,
 * schema objects, sequence values, foreign keys), and always remove the scratch
 * database. Every step is timed; the restore is measured against the RTO and the
 * backup's age against the RPO.
 */
public final class DrillService {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(DrillService.class);
    private static final String MAINTENANCE_DB = "postgres";
    private static final Pattern SETVAL = Pattern.compile("SELECT pg_catalog\\.setval\\('((?:[^']|'')*)', (-?\\d+), (true|false)\\);");

    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final Progress progress;
    private final String version;

    /** Issue 19: the drill's own backup is encrypted to these (null: not); encrypted backups are opened with {@code keys}. */
    private final Recipients encryptTo;
    private final SecretKeys keys;

    public DrillService(ProcessRunner runner, ToolLocator locator, Progress progress, String chronoDrVersion) {
        this(runner, locator, progress, chronoDrVersion, null, null);
    }

    public DrillService(ProcessRunner runner, ToolLocator locator, Progress progress, String chronoDrVersion,
                        Recipients encryptTo, SecretKeys keys) {
        this.encryptTo = encryptTo;
        this.keys = keys;
        this.runner = runner;
        this.locator = locator;
        this.progress = progress;
        this.version = chronoDrVersion;
    }

    public DrillReport run(Target source, DrillRequest req) {
        OffsetDateTime started = Clock.now();
        Target restoreTarget = req.restoreTo() != null ? req.restoreTo() : source;
        List<Step> steps = new ArrayList<>();
        Repository repo = Repository.open(source.repo());
        String database = source.connection().dbname();
        if (req.backupId() != null) {
            requestedBackup(repo, req.backupId()); // a backup that is not there is bad input: nothing starts
        }

        ServerInfo restoreServer = probe(restoreTarget.connection());
        ScratchDatabase.Sweep leftovers;
        try {
            leftovers = ScratchDatabase.sweep(restoreTarget.connection().withDbname(MAINTENANCE_DB), repo, restoreServer.version().num());
        } catch (SQLException e) {
            throw ChronoException.unknown("cannot look for leftover scratch databases: " + e.getMessage(), "the role needs CONNECT on the postgres database");
        }
        requireCreatedb(restoreTarget.connection());

        // 1. The backup.
        long t = System.nanoTime();
        StoredBackup backup;
        try {
            backup = chooseOrTake(source, req, repo);
            steps.add(step("backup", Outcome.PASSED, t, (req.backupId() != null || req.latest() ? "using " : "took ") + backup.id(), List.of()));
        } catch (ChronoException e) {
            steps.add(step("backup", e.exitCode() == ExitCode.UNKNOWN ? Outcome.ERROR : Outcome.FAILED, t, e.getMessage(), List.of()));
            return report(database, null, null, restoreTarget, started, steps, null, null, leftovers, false, lastRecover(repo, req));
        }
        BackupManifest manifest = backup.manifest();

        // 2. The backup's files.
        t = System.nanoTime();
        // --latest chose the backup by checking every file's SHA-256 a moment ago: not hashed twice
        BackupVerifier verifier = new BackupVerifier(v -> tools(restoreTarget, v), keys);
        BackupVerifier.Result files = req.backupId() == null && req.latest() ? verifier.verifyProven(repo, backup) : verifier.verify(repo, backup);
        steps.add(step("verify-backup", files.status().rank() >= dev.chronodr.core.Status.CRITICAL.rank() ? Outcome.FAILED : Outcome.PASSED, t,
                files.filesChecked() + " file(s) checked, " + files.tocEntries() + " archive entries", files.problems()));
        if (!files.ok() && files.status() == dev.chronodr.core.Status.CRITICAL) {
            return finish(database, backup, null, restoreTarget, started, steps, req, null, leftovers, repo);
        }

        // 3..5 Restore into the scratch database, prove it, always drop it.
        String scratchName = ScratchDatabase.nameFor(database, started);
        ScratchDatabase scratch;
        try {
            scratch = ScratchDatabase.claim(restoreTarget.connection().withDbname(MAINTENANCE_DB), repo, scratchName, database,
                    req.keep(), started);
        } catch (SQLException e) {
            throw ChronoException.unknown("cannot claim scratch database " + scratchName + ": " + e.getMessage(), null);
        }
        Thread cleanupOnInterrupt = new Thread(scratch::close, "dr-test-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanupOnInterrupt);
        Long restoreSpan = null; // the restore step's own time: the one span the headline, the step and the RTO all name
        ConnectionSettings scratchConn = restoreTarget.connection().withDbname(scratchName);
        // Each table's COPY text is read back as soon as the restore says its data is in, beside the rest of the restore.
        // A server that sends nothing for as long as a check may run (--statement-timeout) is not waited for any longer.
        ContentDigests content = new ContentDigests(scratchConn,
                manifest == null ? List.of() : manifest.tables().stream().filter(ContentDigests::isCopyText).toList(),
                req.statementTimeout());
        try {
            t = System.nanoTime();
            RestoreResult restored;
            try {
                RestoreService restore = new RestoreService(runner, locator, progress, version, keys);
                // verified below, side by side with the digests
                RestoreRequest rr = new RestoreRequest(null, backup.legacy() ? backup.path().toString() : null, scratchName,
                        req.jobs(), false, false);
                RestoreSource src = backup.legacy() ? restore.resolve(restoreTarget, rr) : RestoreSource.byId(repo, backup.id());
                try {
                    restored = restore.restore(restoreTarget, rr, src, content);
                } finally {
                    content.restoreEnded();
                }
                scratch.restored();
            } catch (SQLException e) {
                steps.add(step("restore", Outcome.ERROR, t, "restored, but could not mark " + scratchName + " as the drill's own: "
                        + e.getMessage(), List.of()));
                return finish(database, backup, scratchName, restoreTarget, started, steps, req, null, leftovers, repo);
            } catch (ChronoException e) {
                // no key that opens an encrypted backup: the drill could not run (3), not a failed restore
                steps.add(step("restore", e.exitCode() == ExitCode.UNKNOWN ? Outcome.ERROR : Outcome.FAILED, t, e.getMessage(), List.of()));
                return finish(database, backup, scratchName, restoreTarget, started, steps, req, null, leftovers, repo);
            }
            long restoreMillis = restored.phases().stream().mapToLong(RestoreResult.Phase::millis).sum();
            restoreSpan = restoreMillis;
            steps.add(new Step("restore", Outcome.PASSED, restoreMillis, "into " + scratchName + " (" + restored.tocEntries() + " archive entries, "
                    + restored.jobs() + " job(s))", List.of()));

            // The digests read the copy on a connection of their own while the other checks run here, one after another.
            var digestStep = java.util.concurrent.CompletableFuture.supplyAsync(() -> digests(scratchConn, manifest, req.deep(),
                    req.backupId() == null && !req.latest(), content));
            steps.addAll(rowCountsAndForeignKeys(scratchConn, manifest, req.statementTimeout()));
            Step schemaStep = schema(scratchConn, restoreTarget, repo, backup, req.statementTimeout());
            Step integrityStep = integrity(restoreTarget, scratchName, req.jobs(), req.deep(), req.statementTimeout());
            steps.add(digestStep.join());
            steps.add(schemaStep);
            steps.add(integrityStep);
        } finally {
            content.close();
            scratch.close();
            try {
                Runtime.getRuntime().removeShutdownHook(cleanupOnInterrupt);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway; close() is idempotent enough (DROP IF EXISTS)
            }
        }
        return finish(database, backup, scratchName, restoreTarget, started, steps, req, restoreSpan, leftovers, repo);
    }

    private StoredBackup chooseOrTake(Target source, DrillRequest req, Repository repo) {
        if (req.backupId() != null) {
            return requestedBackup(repo, req.backupId());
        }
        if (req.latest()) {
            String db = source.connection().dbname();
            // The same choice as restore --latest: the newest full backup of this database that passes a checksum check now.
            BackupCatalog catalog = BackupCatalog.of(repo);
            BackupCatalog.Proof proof = catalog.proveNewestForRestore(catalog.fullBackupsOf(db));
            proof.passedOver().forEach(p -> log.warn("passed over newer backup {}", p));
            return proof.backup().orElseThrow(() -> ChronoException.failed("no full backup of " + db + " in " + repo.location()
                    + " passes its checksum check" + (proof.passedOver().isEmpty() ? "" : ": " + String.join(", ", proof.passedOver())),
                    "take one with: chrono-dr backup"));
        }
        BackupService backups = new BackupService(runner, locator, progress, version);
        var result = backups.backup(source, new BackupRequest(BackupType.FULL, List.of(), "dr-test", Compression.DEFAULT, null,
                source.criticalTables(), req.deep()).encryptedTo(encryptTo));
        return repo.find(result.manifest().id()).orElseThrow();
    }

    /** The backup named by --backup-id: one that is not in the repository is a usage error (64), never a drill that ran. */
    private static StoredBackup requestedBackup(Repository repo, String id) {
        StoredBackup b = repo.find(id).orElseThrow(() -> ChronoException.usage("no backup '" + id + "' in " + repo.location(),
                "see the ids with: chrono-dr list --repo " + repo.location()));
        if (b.state() == BackupState.DAMAGED || b.state() == BackupState.FOREIGN) {
            throw ChronoException.failed("backup " + id + " cannot be restored: " + b.state().label() + ": " + b.reason(),
                    "pick another with: chrono-dr list");
        }
        return b;
    }

    /** Row counts against the manifest, and foreign keys without orphans (restore's own verification). */
    private List<Step> rowCountsAndForeignKeys(ConnectionSettings scratch, BackupManifest manifest, Duration timeout) {
        long t = System.nanoTime();
        Verification v;
        try (Connection c = CheckSession.open(scratch, timeout)) {
            v = Verification.run(c, manifest == null ? null : manifest.tables());
        } catch (SQLException e) {
            return List.of(step("row-counts", Outcome.ERROR, t, "could not count rows: " + CheckSession.explain(e, timeout), List.of()));
        }
        long millis = (System.nanoTime() - t) / 1_000_000;
        long scanned = v.foreignKeys().stream().filter(f -> f.checkedBy().equals("scan")).count();
        return List.of(
                new Step("row-counts", v.tables().isEmpty() ? Outcome.SKIPPED : v.tables().stream().allMatch(x -> x.ok()) ? Outcome.PASSED : Outcome.FAILED,
                        millis / 2, v.tables().isEmpty() ? v.note() : v.tables().size() + " table(s) equal to the manifest's counts",
                        v.problems().stream().filter(p -> p.contains("manifest says")).toList()),
                new Step("foreign-keys", v.foreignKeys().stream().allMatch(x -> x.ok()) ? Outcome.PASSED : Outcome.FAILED,
                        millis - millis / 2, v.foreignKeys().size() + " foreign key(s) without orphans (" + scanned
                        + " NOT VALID scanned, the others validated by PostgreSQL during the restore)",
                        v.problems().stream().filter(p -> p.contains("without a match")).toList()));
    }

    /**
     * Content digests taken at backup time, computed again on the restored copy. A backup's c256 digests (every table's
     * COPY text, taken from the archive stream for free) are compared by reading each restored table once with COPY TO
     * STDOUT; the older r64/h64 digests of a few tables, by the scan that made them.
     */
    private Step digests(ConnectionSettings scratch, BackupManifest manifest, boolean deep, boolean tookFresh, ContentDigests content) {
        long t = System.nanoTime();
        if (manifest == null) {
            return step("digests", Outcome.SKIPPED, t, "legacy backup: no digests to compare", List.of());
        }
        List<BackupManifest.TableEntry> digested = manifest.tables().stream().filter(x -> x.digest() != null).toList();
        if (digested.isEmpty()) {
            String why;
            if (manifest.dumpSession() != null) {
                why = "backup " + manifest.id() + " has no content digests: " + manifest.dumpSession().digests();
            } else {
                // Say what is really missing: an old fresh backup digested only the config's critical tables (every table with --deep).
                why = tookFresh
                        ? "no table was digested: the target has no critical_tables in the config (list them there, or run with --deep to digest every table)"
                        : "backup " + manifest.id() + " has no content digests (take backups with --digest, or let dr-test take a fresh one)";
            }
            return step("digests", Outcome.SKIPPED, t, why, List.of());
        }
        List<BackupManifest.TableEntry> copyText = digested.stream().filter(ContentDigests::isCopyText).toList();
        List<BackupManifest.TableEntry> older = digested.stream().filter(x -> !ContentDigests.isCopyText(x)).toList();
        List<String> problems = new ArrayList<>();
        try {
            if (!older.isEmpty()) {
                try (Connection c = Database.connect(scratch)) {
                    c.setAutoCommit(false);
                    TableDigest.pinSettings(c);
                    for (BackupManifest.TableEntry e : older) {
                        compare(c, e, problems);
                    }
                    c.rollback();
                }
            }
            problems.addAll(content.finish()); // the COPY text of the tables not read during the restore; one transaction each
        } catch (SQLException | RuntimeException e) {
            return step("digests", Outcome.ERROR, t, "could not compute digests: " + e.getMessage(), List.of());
        }
        int announced = content.announced();
        int early = content.readEarly();
        String scope = digested.size() == manifest.tables().size() ? "every table (" + digested.size() + ")"
                : deep && copyText.isEmpty() ? "every table" : digested.size() + (copyText.isEmpty() ? " critical" : "") + " table(s)";
        String how = copyText.isEmpty() ? "" : " (COPY text, SHA-256" + (announced > 0 ? "; " + announced + " announced by the restore, " + early + " read before it ended" : "") + ")";
        // Tables left unread by a server that stopped answering are no verdict on the backup: ERROR (3), unless others differ.
        int differ = problems.size() - content.unread();
        return step("digests", problems.isEmpty() ? Outcome.PASSED : differ > 0 ? Outcome.FAILED : Outcome.ERROR, t,
                problems.isEmpty() ? "content of " + scope + " identical to the backup's" + how
                        : differ > 0 ? differ + " table(s) differ" + (content.unread() > 0 ? ", " + content.unread() + " not read" : "")
                        : content.unread() + " table(s) not read: the server stopped answering", problems);
    }

    private static void compare(Connection c, BackupManifest.TableEntry e, List<String> problems) throws SQLException {
        TableDigest.Digest d = TableDigest.like(c, e.schema(), e.name(), e.digest());
        if (!d.value().equals(e.digest()) || d.rows() != e.rows()) {
            problems.add(e.qualifiedName() + ": content differs from the backup's (" + d.rows() + " rows restored, " + e.rows()
                    + " in the backup)");
        }
    }

    /** Every schema object in the archive exists after the restore, and sequences hold the archive's values. */
    private Step schema(ConnectionSettings scratch, Target restoreTarget, Repository repo, StoredBackup backup, Duration timeout) {
        long t = System.nanoTime();
        if (backup.legacy()) {
            return step("schema", Outcome.SKIPPED, t, "plain SQL backup: no table of contents to compare", List.of());
        }
        BackupManifest m = backup.manifest();
        Path dump = (backup.path() != null ? backup.path() : repo.localCopy(backup)).resolve(m.file("dump").name());
        PgTools tools = tools(restoreTarget, new PgVersion(m.serverVersionNum()));
        List<String> problems = new ArrayList<>();
        Map<String, Integer> counts;
        int sequences = 0;
        try (Connection c = CheckSession.open(scratch, timeout)) {
            String listing = pgRestore(tools, dump, List.of("--list"));
            List<ArchiveToc.Entry> toc = ArchiveToc.parse(listing);
            counts = Inventory.counts(toc);
            problems.addAll(Inventory.missing(toc, Inventory.of(c)).stream().map(k -> "missing after restore: " + k).toList());
            List<String> seqLines = listing.lines().filter(l -> l.matches("^\\d+; \\d+ \\d+ SEQUENCE SET .*")).toList();
            if (!seqLines.isEmpty()) {
                // The list must be where pg_restore runs: in the container in compose and docker modes.
                try (ToolFile list = ToolFile.write(tools, "chrono-dr-seq", seqLines)) {
                    String sql = pgRestore(tools, dump, List.of("-L", list.path(), "-f", "-"));
                    Matcher mt = SETVAL.matcher(sql);
                    while (mt.find()) {
                        sequences++;
                        String seq = mt.group(1).replace("''", "'");
                        long expected = Long.parseLong(mt.group(2));
                        boolean called = Boolean.parseBoolean(mt.group(3));
                        String actual = sequenceValue(c, seq);
                        if (!(expected + " " + called).equals(actual)) {
                            problems.add("sequence " + seq + ": " + actual + " after restore, archive says " + expected + " " + called);
                        }
                    }
                }
            }
        } catch (SQLException e) {
            return step("schema", Outcome.ERROR, t, "could not compare the schema: " + CheckSession.explain(e, timeout), List.of());
        } catch (ChronoException e) {
            return step("schema", Outcome.ERROR, t, "could not compare the schema: " + e.getMessage(), List.of());
        }
        String summary = counts.entrySet().stream().map(e -> e.getValue() + " " + e.getKey().toLowerCase(java.util.Locale.ROOT)).toList()
                + ", " + sequences + " sequence value(s)";
        return step("schema", problems.isEmpty() ? Outcome.PASSED : Outcome.FAILED, t,
                problems.isEmpty() ? "all archive objects present: " + summary : problems.size() + " difference(s)", problems);
    }

    /** verify's integrity checks (amcheck, invalid indexes, NOT VALID constraints) on the restored copy. */
    Step integrity(Target restoreTarget, String scratchName, int jobs, boolean deep, Duration timeout) {
        long t = System.nanoTime();
        Target scratch = new Target(restoreTarget.name(), restoreTarget.connection().withDbname(scratchName), restoreTarget.exec(),
                restoreTarget.repo(), restoreTarget.config(), restoreTarget.sandbox());
        // A freshly restored heap is rebuilt row by row; verify_heapam over it is worth its cost only with --deep.
        Set<String> checks = deep ? Set.of("invalid-indexes", "btree", "heap", "not-valid-constraints")
                : Set.of("invalid-indexes", "btree", "not-valid-constraints");
        VerifyRequest vr = new VerifyRequest(Scope.all(), checks, Set.of(),
                Math.min(jobs, VerifyRequest.MAX_JOBS), timeout, null);
        // Its indexes were just built from its tables, and the digests read those: heapallindexed only with --deep.
        VerifyReport report = new VerifyService(DatabaseChecks.standard(deep))
                .verify(new VerifyContext(scratch, vr, runner, locator, progress));
        List<String> details = new ArrayList<>();
        boolean blocked = false;
        for (CheckResult c : report.checks()) {
            if (c.status() == dev.chronodr.core.Status.SKIPPED) {
                blocked |= c.blocked();
                if (c.blocked()) {
                    details.add(c.name() + ": not checked: " + c.summary());
                }
                continue;
            }
            if (c.status() != dev.chronodr.core.Status.OK) {
                details.add(c.name() + " " + c.status() + ": " + c.summary());
            }
        }
        Outcome outcome = switch (report.exitCode()) {
            case OK -> Outcome.PASSED;
            case CRITICAL -> Outcome.FAILED;
            case FAILED -> Outcome.PASSED; // warnings (e.g. a NOT VALID constraint carried over) are reported, not failed
            default -> blocked ? Outcome.SKIPPED : Outcome.ERROR;
        };
        String summary = report.checks().stream().filter(c -> c.status() != dev.chronodr.core.Status.SKIPPED)
                .map(c -> c.name() + " " + c.status().name().toLowerCase(java.util.Locale.ROOT)).toList().toString();
        return step("integrity", outcome, t, blocked && outcome == Outcome.SKIPPED ? "amcheck could not run on the restored copy" : summary, details);
    }

    private static String sequenceValue(Connection c, String regclassText) throws SQLException {
        String name;
        try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?)::text")) {
            ps.setString(1, regclassText);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                name = rs.getString(1);
            }
        }
        if (name == null) {
            return "missing";
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT last_value, is_called FROM " + name)) {
            rs.next();
            return rs.getLong(1) + " " + rs.getBoolean(2);
        }
    }

    private String pgRestore(PgTools tools, Path dump, List<String> args) {
        String name = dump.getFileName().toString();
        Compression.Method method = Compression.ofFile(BackupManifest.plainName(name));
        return tools.run(tools.spec(PgTool.PG_RESTORE, args).withTimeout(Duration.ofHours(1)).withStdin(out -> {
            java.io.InputStream stored = new java.io.BufferedInputStream(Files.newInputStream(dump), 1 << 20);
            if (name.endsWith(BackupManifest.ENCRYPTED_SUFFIX)) {
                stored = OpenPgp.decrypt(stored, keys, name); // the restore step opened it with these keys already
            }
            try (var in = Compression.decompress(method, stored)) {
                in.transferTo(out);
            }
        })).stdout();
    }

    private DrillReport finish(String database, StoredBackup backup, String scratch, Target restoreTarget, OffsetDateTime started,
                               List<Step> steps, DrillRequest req, Long restoreMillis, ScratchDatabase.Sweep leftovers,
                               Repository repo) {
        Objective rto = null;
        if (restoreMillis != null) {
            boolean met = restoreMillis <= req.rto().toMillis();
            rto = new Objective(req.rto().toSeconds(), Math.max(1, Math.round(restoreMillis / 1000.0)), met,
                    "restore took " + dev.chronodr.report.TextOutput.duration(Duration.ofMillis(restoreMillis)) + " against an RTO of "
                            + req.rto().toMinutes() + " min" + (met ? "" : ": MISSED"));
            steps.add(new Step("rto", met ? Outcome.PASSED : Outcome.FAILED, 0, rto.what(), List.of()));
        }
        Objective rpo = null;
        if (backup != null && backup.time() != null) {
            long age = Math.max(0, Duration.between(backup.time(), started).toSeconds());
            boolean met = age <= req.rpo().toSeconds();
            rpo = new Objective(req.rpo().toSeconds(), age, met,
                    "backup was " + age + " s old against an RPO of " + req.rpo().toMinutes() + " min" + (met ? "" : ": MISSED"));
            steps.add(new Step("rpo", met ? Outcome.PASSED : Outcome.FAILED, 0, rpo.what(), List.of()));
        }
        return report(database, backup == null ? null : backup.id(), scratch, restoreTarget, started, steps, rto, rpo, leftovers, req.keep(),
                lastRecover(repo, req));
    }

    /** The newest recover run kept in the repository, against this drill's RTO. */
    private static Objective lastRecover(Repository repo, DrillRequest req) {
        return RecoveryRecord.last(repo).map(r -> {
            long seconds = r.totalMillis() / 1000;
            boolean met = r.totalMillis() <= req.rto().toMillis();
            return new Objective(req.rto().toSeconds(), seconds, met, "took " + TextOutput.duration(Duration.ofMillis(r.totalMillis()))
                    + " on " + r.startedAt().withOffsetSameInstant(java.time.ZoneOffset.UTC).truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                    + " (" + r.outcome() + ") against an RTO of " + req.rto().toMinutes() + " min" + (met ? "" : ": MISSED"));
        }).orElse(null);
    }

    private static DrillReport report(String database, String backupId, String scratch, Target restoreTarget, OffsetDateTime started,
                                      List<Step> steps, Objective rto, Objective rpo, ScratchDatabase.Sweep leftovers, boolean keep,
                                      Objective lastRecover) {
        String on = restoreTarget.connection().host() + ":" + restoreTarget.connection().port();
        long elapsed = Duration.between(started, Clock.now()).toMillis();
        boolean restored = steps.stream().anyMatch(s -> s.name().equals("restore") && s.outcome() == Outcome.PASSED);
        return new DrillReport(database, backupId, scratch, on, restored ? on : null, started, List.copyOf(steps), rto, rpo,
                leftovers.dropped(), leftovers.leftAlone(), keep, elapsed, lastRecover);
    }

    private PgTools tools(Target target, PgVersion server) {
        return new PgTools(target.exec(), target.connection(), runner, locator, server);
    }

    private static ServerInfo probe(ConnectionSettings s) {
        try (Connection c = Database.connect(s)) {
            return ServerInfo.probe(c);
        } catch (SQLException e) {
            throw ChronoException.critical("cannot read server information from " + s.describe() + ": " + e.getMessage(), null, e);
        }
    }

    private static void requireCreatedb(ConnectionSettings s) {
        try (Connection c = Database.connect(s); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                throw ChronoException.unknown("role " + s.user() + " may not create databases, so the drill cannot restore a scratch copy",
                        "ALTER ROLE " + s.user() + " CREATEDB; or run the drill as a role that has it (--restore-to another target)");
            }
        } catch (SQLException e) {
            throw ChronoException.unknown("cannot check CREATEDB: " + e.getMessage(), null);
        }
    }

    private static Step step(String name, Outcome outcome, long t0, String message, List<String> details) {
        return new Step(name, outcome, Duration.ofNanos(System.nanoTime() - t0).toMillis(), message, List.copyOf(details));
    }

}
