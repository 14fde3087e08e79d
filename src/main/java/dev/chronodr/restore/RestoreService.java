package dev.chronodr.restore;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.backup.BackupRequest;
import dev.chronodr.backup.BackupService;
import dev.chronodr.backup.BackupType;
import dev.chronodr.config.Target;
import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Progress;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.BackupVerifier;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.Repository;
import dev.chronodr.restore.RestoreResult.Phase;

/**
 * Restores a dump without ever leaving the user without a database under its name.
 * <ol>
 *   <li>checks: checksums against the manifest, the archive's table of contents;</li>
 *   <li>restore into a new database (beside, or a staging one);</li>
 *   <li>verify: row counts against the manifest, no foreign-key orphans;</li>
 *   <li>swap (replace mode): both renames in ONE transaction on the maintenance database,
 *       so at every instant exactly one database carries the live name; a crash or failure
 *       in between rolls both back.</li>
 * </ol>
 */
public final class RestoreService {
    private static final Logger log = LoggerFactory.getLogger(RestoreService.class);
    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss");
    private static final String MAINTENANCE_DB = "postgres";
    private static final int MAX_NAME = 63;

    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final Progress progress;
    private final String version;
    /** Runs between the two renames of the swap; tests inject a failure here. */
    private Runnable betweenRenames = () -> { };

    public RestoreService(ProcessRunner runner, ToolLocator locator, Progress progress, String chronoDrVersion) {
        this.runner = runner;
        this.locator = locator;
        this.progress = progress;
        this.version = chronoDrVersion;
    }

    void betweenRenames(Runnable hook) {
        this.betweenRenames = hook;
    }

    /** Finds the dump: before any confirmation, so a wrong path or id fails fast. */
    public RestoreSource resolve(Target target, RestoreRequest req) {
        Repository repo = new Repository(target.repo());
        if (req.backupFile() != null) {
            return RestoreSource.fromPath(Path.of(req.backupFile()));
        }
        if (req.backupId() != null) {
            return RestoreSource.byId(repo, req.backupId());
        }
        return RestoreSource.latest(repo, target.connection().dbname());
    }

    /** Finds the dump and plans the restore: nothing is touched. */
    public RestorePlan plan(Target target, RestoreRequest req) {
        return plan(target, req, resolve(target, req));
    }

    /** The plan for a source already resolved; connects to nothing and changes nothing. */
    public RestorePlan plan(Target target, RestoreRequest req, RestoreSource source) {
        String live = target.connection().dbname();
        RestoreMode mode = RestoreMode.of(req);
        String stamp = Clock.now().atZoneSameInstant(ZoneOffset.UTC).format(TS);
        boolean replace = mode == RestoreMode.REPLACE;
        return new RestorePlan(mode, req, source, live, mode == RestoreMode.NEW_DATABASE ? req.targetDb() : live,
                replace ? derivedName(live, "_restore_" + stamp) : null, replace ? derivedName(live, "_pre_restore_" + stamp) : null,
                stamp, checks(mode, req, source));
    }

    /** What a restore in this mode checks, in the order it does. */
    private static List<String> checks(RestoreMode mode, RestoreRequest req, RestoreSource source) {
        List<String> checks = new ArrayList<>();
        if (source.manifest() != null) {
            checks.add("the server is not older than the backup's PostgreSQL " + source.manifest().serverVersion());
        }
        if (mode == RestoreMode.NEW_DATABASE) {
            checks.add("database " + req.targetDb() + " does not exist yet");
        }
        checks.add("free space where the restore writes");
        if (source.manifest() != null) {
            checks.add("every file of the backup against the SHA-256 in its manifest");
        }
        checks.add(source.format() == ArchiveFormat.PLAIN ? "the plain SQL never leaves the database it restores into (no \\connect)"
                : "pg_restore reads the archive's table of contents");
        if (mode != RestoreMode.NEW_DATABASE && !req.allowEmpty()) {
            checks.add("a backup without tables does not replace a database that has some");
        }
        if (mode == RestoreMode.REPLACE) {
            checks.add("the staging and kept names are free");
        }
        if (req.verify()) {
            checks.add("after the restore: row counts against the manifest, and no foreign-key orphans");
        }
        return checks;
    }

    /** Plans and carries out at once: for callers that confirm nothing (the drill, tests). */
    public RestoreResult restore(Target target, RestoreRequest req, RestoreSource source) {
        return execute(target, plan(target, req, source));
    }

    /** Carries the plan out. */
    public RestoreResult execute(Target target, RestorePlan plan) {
        RestoreRequest req = plan.request();
        RestoreSource source = plan.source();
        String live = plan.database();
        RestoreMode mode = plan.mode();
        List<Phase> phases = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        try (Connection admin = Database.connect(target.connection().withDbname(MAINTENANCE_DB))) {
            ServerInfo server = ServerInfo.probe(admin);
            PgTools tools = new PgTools(target.exec(), target.connection(), runner, locator, server.version());
            refuseNewerServer(source, server);
            if (req.targetDb() != null && exists(admin, req.targetDb())) {
                throw ChronoException.failed("database " + req.targetDb() + " already exists; restore never overwrites it",
                        "choose another --target-db, or drop it first: DROP DATABASE " + Identifiers.quote(req.targetDb()) + ";");
            }
            int jobs = req.jobs();
            if (jobs > 1 && (source.format() == ArchiveFormat.PLAIN || tools.exec().mode() != ExecMode.LOCAL)) {
                notes.add(source.format() == ArchiveFormat.PLAIN ? "plain SQL restores in one session; --jobs ignored"
                        : "--exec " + tools.exec().mode().name().toLowerCase(Locale.ROOT) + " streams the archive into the container; --jobs ignored");
                jobs = 1;
            }
            if (source.format() == ArchiveFormat.DIRECTORY && tools.exec().mode() != ExecMode.LOCAL) {
                throw ChronoException.usage("a directory archive can only be restored with --exec local", "restore from a custom-format file instead");
            }

            Repository repo = new Repository(target.repo());
            boolean unpack = jobs > 1 && source.format() == ArchiveFormat.CUSTOM && source.method() != Compression.Method.NONE;
            // What a killed restore of this database left behind goes first: it holds disk space.
            notes.addAll(StagingDatabases.cleanLeftovers(admin, live));
            notes.addAll(RestoreSpace.check(admin, tools, source, mode.label(), unpack, repo.root(), DatabaseProperties.capture(admin, live),
                    req.goOnUnchecked()));
            long t = System.nanoTime();
            if (unpack) {
                source = unpack(source, repo);
            } else if (!source.checksummed()) {
                checksums(source);
            }
            for (String p : source.passedOver()) {
                notes.add("passed over newer backup " + p);
            }
            phases.add(phase("checksums", t));
            try {
                return restoreChecked(target, plan, source, admin, tools, jobs, phases, notes);
            } finally {
                if (source.unpacked() != null) {
                    deleteUnpacked(source.unpacked());
                }
            }
        } catch (SQLException e) {
            throw ChronoException.failed("restore failed: " + e.getMessage(), null, e);
        }
    }

    private RestoreResult restoreChecked(Target target, RestorePlan plan, RestoreSource source, Connection admin, PgTools tools,
                                         int jobs, List<Phase> phases, List<String> notes) throws SQLException {
        RestoreRequest req = plan.request();
        String live = plan.database();
        Repository repo = new Repository(target.repo());
        {
            long t = System.nanoTime();
            Toc contents = tableOfContents(tools, source);
            int toc = contents.entries();
            phases.add(phase("toc", t));
            if (plan.mode() != RestoreMode.NEW_DATABASE && !req.allowEmpty()) {
                refuseEmpty(tools, source, contents, live);
            }

            if (req.withGlobals()) {
                t = System.nanoTime();
                notes.addAll(globals(tools, admin, source));
                phases.add(phase("globals", t));
            }

            String ts = plan.stamp();
            return switch (plan.mode()) {
                case NEW_DATABASE -> beside(admin, tools, source, req, jobs, live, req.targetDb(), repo, phases, notes, toc);
                case IN_PLACE -> inPlace(target, admin, tools, source, req, jobs, live, repo, phases, notes, toc,
                        ApplicationServices.of(target, runner));
                case REPLACE -> replace(admin, tools, source, req, jobs, live, ts, repo, phases, notes, toc,
                        ApplicationServices.of(target, runner));
            };
        }
    }

    private RestoreResult beside(Connection admin, PgTools tools, RestoreSource source, RestoreRequest req, int jobs, String live,
                                 String db, Repository repo, List<Phase> phases, List<String> notes, int toc) throws SQLException {
        long t = System.nanoTime();
        createLike(admin, db, DatabaseProperties.capture(admin, live));
        restoreOrDrop(admin, tools, source, db, jobs, toc);
        phases.add(phase("restore", t));
        Verification v = verify(tools, source, db, req, phases);
        if (v != null && !v.ok()) {
            return new RestoreResult(false, "beside", source, db, null, null, toc, jobs, phases, v, notes, List.of(),
                    List.of("inspect " + db + "; drop it when done: DROP DATABASE " + Identifiers.quote(db) + ";"),
                    "verification failed; " + db + " is left for inspection");
        }
        return new RestoreResult(true, "beside", source, db, null, null, toc, jobs, phases, v, notes, List.of(),
                List.of("connect to " + db + " to inspect or copy data; the live database " + live + " was not touched",
                        "drop it when done: DROP DATABASE " + Identifiers.quote(db) + ";"), null);
    }

    private RestoreResult replace(Connection admin, PgTools tools, RestoreSource source, RestoreRequest req, int jobs, String live,
                                  String ts, Repository repo, List<Phase> phases, List<String> notes, int toc,
                                  ApplicationServices services) throws SQLException {
        String staging = derivedName(live, "_restore_" + ts);
        String previous = derivedName(live, "_pre_restore_" + ts);
        if (exists(admin, staging) || exists(admin, previous)) {
            throw ChronoException.failed("database " + staging + " or " + previous + " already exists", "wait a second and run again");
        }
        long t = System.nanoTime();
        createLike(admin, staging, DatabaseProperties.capture(admin, live));
        try {
            StagingDatabases.mark(admin, staging);
        } catch (SQLException e) {
            dropDatabase(admin, staging);
            throw e;
        }
        restoreOrDrop(admin, tools, source, staging, jobs, toc);
        phases.add(phase("restore", t));
        Verification v = verify(tools, source, staging, req, phases);
        if (v != null && !v.ok()) {
            // Left for the user to inspect: no longer a leftover for the next restore to drop.
            exec(admin, "COMMENT ON DATABASE " + Identifiers.quote(staging) + " IS "
                    + literal("restored copy of " + live + " left by chrono-dr for inspection after a failed verification; drop it when done"));
            return new RestoreResult(false, "replace", source, live, staging, null, toc, jobs, phases, v, notes, List.of(),
                    List.of("the live database " + live + " was not touched",
                            "inspect the restored copy in " + staging + "; drop it when done: DROP DATABASE " + Identifiers.quote(staging) + ";"),
                    "verification failed; live database untouched, restored copy left in " + staging);
        }
        t = System.nanoTime();
        // What belongs to the database, not to the dump (owner, ACL, settings...), goes onto the
        // copy now, after the restore and its verification ran without those settings.
        DatabaseProperties kept = DatabaseProperties.capture(admin, live);
        if (kept != null) {
            notes.addAll(kept.applyTo(admin, staging));
            DatabaseProperties staged = DatabaseProperties.capture(admin, staging);
            kept.differences(staged, false).forEach(d -> notes.add("database property not kept: " + d));
        }
        boolean hadLive;
        services.stop();
        try {
            hadLive = swap(admin, live, staging, previous, kept);
        } finally {
            // Back up either way: on the restored database, or on the untouched one if the swap failed.
            services.start();
            notes.addAll(services.log());
        }
        phases.add(phase("swap", t));
        if (!hadLive) {
            notes.add("database " + live + " did not exist; the restored database was given its name");
            return new RestoreResult(true, "replace", source, live, staging, null, toc, jobs, phases, v, notes, List.of(),
                    List.of("start the applications that use " + live), null);
        }
        String rolled = derivedName(live, "_restored_" + ts);
        List<String> rollback = List.of(
                "ALTER DATABASE " + Identifiers.quote(live) + " ALLOW_CONNECTIONS false;",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + literal(live) + ";",
                "BEGIN;",
                "ALTER DATABASE " + Identifiers.quote(live) + " RENAME TO " + Identifiers.quote(rolled) + ";",
                "ALTER DATABASE " + Identifiers.quote(previous) + " RENAME TO " + Identifiers.quote(live) + ";",
                "COMMIT;",
                "ALTER DATABASE " + Identifiers.quote(rolled) + " ALLOW_CONNECTIONS true;");
        return new RestoreResult(true, "replace", source, live, staging, previous, toc, jobs, phases, v, notes, rollback,
                List.of("restart the applications that use " + live + " (their sessions were ended)",
                        "when satisfied, drop the previous database: DROP DATABASE " + Identifiers.quote(previous) + ";"), null);
    }

    private RestoreResult inPlace(Target target, Connection admin, PgTools tools, RestoreSource source, RestoreRequest req, int jobs,
                                  String live, Repository repo, List<Phase> phases, List<String> notes, int toc,
                                  ApplicationServices services) throws SQLException {
        notes.add("IN-PLACE: the live database " + live + " was DROPPED and recreated; there was no copy to fall back on but the safety backup");
        long t = System.nanoTime();
        String safety = null;
        DatabaseProperties kept = DatabaseProperties.capture(admin, live);
        if (kept != null) {
            var backup = new BackupService(runner, locator, progress, version)
                    .backup(target, new BackupRequest(BackupType.FULL, List.of(), "safety backup before in-place restore", Compression.DEFAULT, null));
            safety = backup.manifest().id();
            notes.add("safety backup taken first: " + safety + " (" + backup.path() + ")");
            phases.add(phase("safety backup", t));
        }
        boolean created = false;
        services.stop();
        try {
            if (safety != null) {
                t = System.nanoTime();
                exec(admin, "ALTER DATABASE " + Identifiers.quote(live) + " ALLOW_CONNECTIONS false");
                terminate(admin, live);
                dropDatabase(admin, live);
                phases.add(phase("drop", t));
            }
            t = System.nanoTime();
            createLike(admin, live, kept);
            created = true;
            restore(tools, source, live, jobs, toc);
            phases.add(phase("restore", t));
        } finally {
            // Who may connect is set again before the applications come back, even after a failed restore.
            if (created && kept != null) {
                notes.addAll(kept.applyTo(admin, live));
                try {
                    exec(admin, kept.commentSql(live));
                } catch (SQLException e) {
                    notes.add("could not keep the comment: " + e.getMessage());
                }
            }
            services.start();
            notes.addAll(services.log());
        }
        Verification v = verify(tools, source, live, req, phases);
        if (kept != null) {
            kept.differences(DatabaseProperties.capture(admin, live), true).forEach(d -> notes.add("database property not kept: " + d));
        }
        List<String> next = new ArrayList<>();
        next.add("restart the applications that use " + live);
        if (safety != null) {
            next.add("if this restore is wrong, restore the safety backup: chrono-dr restore --backup-id " + safety + " --yes");
        }
        boolean ok = v == null || v.ok();
        return new RestoreResult(ok, "in-place", source, live, null, null, toc, jobs, phases, v, notes, List.of(), next,
                ok ? null : "verification failed after an in-place restore");
    }

    /** Roles and tablespaces first, for a new server; existing ones are left as they are and reported. */
    private static List<String> globals(PgTools tools, Connection admin, RestoreSource source) throws SQLException {
        BackupManifest m = source.manifest();
        BackupManifest.FileEntry f = m == null ? null : m.file("globals");
        if (f == null) {
            throw ChronoException.failed("backup " + source.id() + " has no roles and tablespaces to restore",
                    "only full backups taken by chrono-dr save them; drop --with-globals, or create the roles first");
        }
        GlobalsRestore.Outcome o = GlobalsRestore.apply(tools, admin, source.backupDir().resolve(f.name()));
        List<String> notes = new ArrayList<>();
        notes.add("roles created: " + (o.created().isEmpty() ? "none" : String.join(", ", o.created()))
                + (m.globals().rolePasswordsIncluded() ? "" : " (without passwords: the backup was taken without superuser; set them with \\password)"));
        if (!o.leftAsTheyWere().isEmpty()) {
            notes.add("roles that already existed, left as they are: " + String.join(", ", o.leftAsTheyWere()));
        }
        if (!o.tablespacesCreated().isEmpty()) {
            notes.add("tablespaces created: " + String.join(", ", o.tablespacesCreated()));
        }
        return notes;
    }

    private static void refuseNewerServer(RestoreSource source, ServerInfo server) {
        BackupManifest m = source.manifest();
        if (m != null && m.serverVersionNum() / 10000 > server.version().major()) {
            throw ChronoException.failed("backup " + source.id() + " comes from PostgreSQL " + m.serverVersion()
                    + ", newer than this server (" + server.versionString() + ")",
                    "restore it into a server of version " + m.serverVersionNum() / 10000 + " or later");
        }
    }

    /** Every file of the backup against the SHA-256 in its manifest. */
    private static void checksums(RestoreSource source) {
        checksums(source, f -> true);
    }

    private static void checksums(RestoreSource source, java.util.function.Predicate<BackupManifest.FileEntry> which) {
        BackupManifest m = source.manifest();
        if (m == null) {
            return;
        }
        for (BackupManifest.FileEntry f : m.files()) {
            if (!which.test(f)) {
                continue;
            }
            Path p = source.backupDir().resolve(f.name());
            if (!Files.isRegularFile(p)) {
                throw ChronoException.failed("backup " + source.id() + " is incomplete: " + f.name() + " is missing; nothing was touched",
                        "choose another backup");
            }
            String actual = sha256(p);
            if (!actual.equals(f.sha256())) {
                throw ChronoException.failed("backup " + source.id() + " is corrupt: " + f.name() + " has SHA-256 " + actual
                        + ", the manifest says " + f.sha256() + "; nothing was touched", "choose another backup (chrono-dr list)");
            }
        }
    }

    private static String sha256(Path p) {
        try {
            return BackupVerifier.sha256(p);
        } catch (IOException e) {
            throw ChronoException.failed("cannot read " + p + ": " + e.getMessage(), null);
        }
    }

    /**
     * Reads the archive's table of contents with pg_restore --list, which also proves that
     * this pg_restore can read the archive's version. Dumps without a manifest are also read
     * to their end, so a truncated or corrupt gzip/zstd stream fails its own checksum here.
     * Plain SQL must not switch databases (\connect), or it would write outside the target.
     */
    /** The archive's entries, and how many of them are tables (null: not known, a plain dump). */
    private record Toc(int entries, Integer tables) {
    }

    /**
     * A backup with no tables must not replace a database that has them: what a failed
     * pg_dump leaves behind would swap in an empty database and verify "0 of 0 rows".
     */
    private static void refuseEmpty(PgTools tools, RestoreSource source, Toc contents, String live) throws SQLException {
        long restoring;
        if (source.manifest() != null) {
            restoring = source.manifest().tables().size();
        } else if (contents.tables() != null) {
            restoring = contents.tables();
        } else {
            restoring = plainCreatesTable(source) ? 1 : 0;
        }
        if (restoring > 0) {
            return;
        }
        long liveTables;
        try (Connection c = Database.connect(tools.connection().withDbname(live));
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                     + " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")) {
            rs.next();
            liveTables = rs.getLong(1);
        } catch (SQLException e) {
            if ("3D000".equals(e.getSQLState())) {
                return; // no live database: nothing to lose
            }
            throw e;
        }
        if (liveTables > 0) {
            throw ChronoException.failed("backup " + source.id() + " holds no tables, and database " + live + " has " + liveTables
                    + "; restoring it would leave an empty database; nothing was touched",
                    "choose another backup (chrono-dr list), or pass --allow-empty if an empty database is really what you want");
        }
    }

    /** Does a plain dump create a table? Reads only until the first one. */
    private static boolean plainCreatesTable(RestoreSource source) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(source.open(), StandardCharsets.UTF_8), 1 << 16)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.regionMatches(true, 0, "CREATE TABLE ", 0, 13) || line.regionMatches(true, 0, "CREATE UNLOGGED TABLE ", 0, 22)) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw ChronoException.failed("backup " + source.id() + " is corrupt or truncated: " + e.getMessage() + "; nothing was touched",
                    "choose another backup");
        }
    }

    private Toc tableOfContents(PgTools tools, RestoreSource source) {
        if (source.manifest() == null && source.format() != ArchiveFormat.DIRECTORY && source.method() != Compression.Method.NONE
                && source.unpacked() == null || source.format() == ArchiveFormat.PLAIN) {
            readThrough(source);
        }
        if (source.format() == ArchiveFormat.PLAIN) {
            return new Toc(0, null);
        }
        List<String> args = new ArrayList<>(List.of("--list"));
        var spec = source.format() == ArchiveFormat.DIRECTORY || source.unpacked() != null
                ? tools.spec(PgTool.PG_RESTORE, append(args, (source.unpacked() != null ? source.unpacked() : source.dump()).toString()))
                : tools.spec(PgTool.PG_RESTORE, args).withStdin(out -> feed(source, out, true));
        String list;
        try {
            list = tools.run(spec).stdout();
        } catch (ChronoException e) {
            throw ChronoException.failed("cannot read the table of contents of " + source.id() + ": " + e.getMessage()
                    + "; nothing was touched", "the archive is damaged, or newer than this pg_restore");
        }
        int n = 0;
        int tables = 0;
        for (String line : list.split("\n")) {
            if (!line.isBlank() && !line.startsWith(";")) {
                n++;
                if (line.contains(" TABLE ") && !line.contains(" TABLE DATA ")) {
                    tables++;
                }
            }
        }
        if (n == 0) {
            throw ChronoException.failed("the archive " + source.id() + " has an empty table of contents; nothing was touched", "choose another backup");
        }
        return new Toc(n, tables);
    }

    private static void readThrough(RestoreSource source) {
        try (InputStream in = source.open()) {
            if (source.format() == ArchiveFormat.PLAIN) {
                try {
                    PlainSqlGuard.check(in);
                } catch (PlainSqlGuard.Refused r) {
                    throw refusedPlainSql(source, r);
                }
            } else {
                in.transferTo(OutputStream.nullOutputStream());
            }
        } catch (IOException e) {
            throw ChronoException.failed("backup " + source.id() + " is corrupt or truncated: " + e.getMessage() + "; nothing was touched",
                    "choose another backup");
        }
    }

    static ChronoException refusedPlainSql(RestoreSource source, PlainSqlGuard.Refused r) {
        return ChronoException.failed("plain SQL " + source.id() + " refused at " + r.getMessage() + "; nothing was touched",
                "a file pg_dump wrote has no such line (\\connect: made with --create); read it, and if you trust it run it with psql by hand");
    }

    /** Plain SQL for psql: checked line by line as it goes, behind psql's own \\restrict where this psql has it. */
    private static void feedPlain(RestoreSource source, OutputStream out, String restrictKey) throws IOException {
        try (InputStream in = source.open()) {
            PlainSqlGuard.copy(in, out, restrictKey);
        } catch (PlainSqlGuard.Refused r) {
            throw new IOException(refusedPlainSql(source, r).getMessage());
        }
    }

    /**
     * A random key for {@code \\restrict} when this psql knows the command (15.14, 16.10, 17.6 and
     * later; earlier psql would fail on it), else null: the line filter is then the only guard.
     */
    static String restrictKey(PgTools tools) {
        try {
            String help = tools.run(tools.spec(PgTool.PSQL, List.of("--help=commands"))).stdout();
            if (!help.contains("\\restrict")) {
                return null;
            }
        } catch (ChronoException e) {
            return null;
        }
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        java.security.SecureRandom random = new java.security.SecureRandom();
        StringBuilder key = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            key.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return key.toString();
    }

    /** Streams the decompressed dump; a reader that stops early (pg_restore --list) is judged by its exit code. */
    private static void feed(RestoreSource source, OutputStream out, boolean mayStopEarly) throws IOException {
        try (InputStream in = source.open()) {
            in.transferTo(out);
        }
    }

    private void restoreOrDrop(Connection admin, PgTools tools, RestoreSource source, String db, int jobs, int toc) throws SQLException {
        try {
            restore(tools, source, db, jobs, toc);
        } catch (RuntimeException e) {
            // Half a restore is of no use to anyone; the live database was never touched.
            try {
                dropDatabase(admin, db);
            } catch (SQLException dropFailure) {
                log.warn("could not drop the half-restored database {}: {}", db, dropFailure.getMessage());
            }
            throw e;
        }
    }

    /**
     * pg_restore reads stdin when one job is enough; a parallel restore reads a seekable
     * file: the archive itself when uncompressed, else the copy {@link #unpack} made.
     */
    private void restore(PgTools tools, RestoreSource source, String db, int jobs, int toc) {
        try {
            runRestore(tools, source, db, jobs, toc);
        } finally {
            progress.done();
        }
    }

    private void runRestore(PgTools tools, RestoreSource source, String db, int jobs, int toc) {
        List<String> args = new ArrayList<>(tools.connectionArgs());
        if (source.format() == ArchiveFormat.PLAIN) {
            args.addAll(List.of("-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", db, "-f", "-"));
            String key = restrictKey(tools);
            // psql reads the file in its client encoding: the server's, as the filter assumes, unless the file says otherwise.
            tools.run(tools.spec(PgTool.PSQL, args).withoutEnv(List.of("PGCLIENTENCODING")).withStdin(out -> feedPlain(source, out, key))
                    .withStdout(in -> in.transferTo(OutputStream.nullOutputStream())));
            return;
        }
        args.addAll(List.of("--exit-on-error", "-d", db));
        if (jobs > 1) {
            args.addAll(List.of("-j", String.valueOf(jobs)));
        }
        RestoreProgress counter = progress == Progress.NONE ? null : new RestoreProgress(progress, toc, jobs > 1);
        if (counter != null) {
            args.add("-v"); // one line per item: what the progress counts
        }
        java.util.function.UnaryOperator<ProcessSpec> watched = spec -> counter == null ? spec : spec.withStderrLines(counter::line);
        if (source.format() == ArchiveFormat.DIRECTORY || source.method() == Compression.Method.NONE && jobs > 1) {
            args.add(source.dump().toString());
            tools.run(watched.apply(tools.spec(PgTool.PG_RESTORE, args)));
            return;
        }
        if (source.unpacked() != null) {
            args.add(source.unpacked().toString());
            tools.run(watched.apply(tools.spec(PgTool.PG_RESTORE, args)));
            return;
        }
        tools.run(watched.apply(tools.spec(PgTool.PG_RESTORE, args)).withStdin(out -> feed(source, out, false)));
    }

    /**
     * Parallel restore needs a seekable, uncompressed archive. One read of the backup makes
     * it: the other files are checked against the manifest first, then the dump is hashed as
     * it is decompressed, and a copy whose hash differs is deleted before anything is
     * touched. The copy goes to the repository's private .partial area (tried: /dev/shm
     * was no faster than the page cache, and costs memory until the copy is gone).
     */
    private RestoreSource unpack(RestoreSource source, Repository repo) {
        BackupManifest m = source.manifest();
        BackupManifest.FileEntry dumpEntry = m == null ? null : m.file("dump");
        if (m != null) {
            checksums(source, f -> !f.role().equals("dump"));
        }
        Path dir = UnpackDir.choose(repo);
        Path temp = UnpackDir.file(dir, source.id());
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, AtomicFile.PRIVATE_DIR);
            Files.deleteIfExists(temp);
            Optional<Path> zstd = source.method() == Compression.Method.ZSTD ? locator.onPath("zstd") : Optional.empty();
            String actual;
            if (zstd.isPresent()) {
                // The zstd program decompresses about a third faster than zstd-jni (its assembly decoders);
                // it writes the copy into the private directory while this thread hashes the archive.
                ProcessSpec spec = ProcessSpec.of(zstd.get().toString(), "-q", "-d", "-o", temp.toString(),
                        source.dump().toString()).withTimeout(java.time.Duration.ofHours(24));
                var decompressed = java.util.concurrent.CompletableFuture.supplyAsync(() -> runner.run(spec));
                String hashed = null;
                RuntimeException hashFailure = null;
                try {
                    hashed = sha256(source.dump());
                } catch (RuntimeException e) {
                    hashFailure = e; // reported once zstd has stopped writing the copy
                }
                try {
                    decompressed.join();
                } catch (java.util.concurrent.CompletionException e) {
                    Throwable why = e.getCause();
                    String detail = why instanceof dev.chronodr.process.ProcessFailedException pf ? pf.stderrTail().strip() : String.valueOf(why.getMessage());
                    throw new IOException(detail.isEmpty() ? "zstd failed" : detail, why);
                }
                if (hashFailure != null) {
                    throw hashFailure;
                }
                actual = hashed;
                Files.setPosixFilePermissions(temp, AtomicFile.PRIVATE_FILE);
            } else {
                MessageDigest sha = BackupVerifier.newSha256();
                Files.createFile(temp, AtomicFile.privateFile());
                Compression.unpack(source.method(), source.dump(), temp, sha);
                actual = HexFormat.of().formatHex(sha.digest());
            }
            if (dumpEntry != null) {
                if (!actual.equals(dumpEntry.sha256())) {
                    throw ChronoException.failed("backup " + source.id() + " is corrupt: " + dumpEntry.name() + " has SHA-256 " + actual
                            + ", the manifest says " + dumpEntry.sha256() + "; nothing was touched", "choose another backup (chrono-dr list)");
                }
            }
            return source.withUnpacked(temp);
        } catch (IOException | RuntimeException e) {
            deleteUnpacked(temp);
            if (e instanceof ChronoException c) {
                throw c;
            }
            boolean ourSide = e instanceof java.nio.file.FileSystemException
                    || String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("no space left");
            if (!ourSide) {
                throw ChronoException.failed("backup " + source.id() + " is corrupt or truncated: " + e.getMessage() + "; nothing was touched",
                        "choose another backup");
            }
            throw ChronoException.failed("cannot decompress the archive for a parallel restore into " + dir + ": " + e.getMessage()
                    + "; nothing was touched", "free space there, or restore with --jobs 1 (streams without a temporary file)");
        }
    }

    private static void deleteUnpacked(Path temp) {
        try {
            Files.deleteIfExists(temp);
        } catch (IOException e) {
            log.warn("could not remove {}: {}", temp, e.getMessage());
        }
    }

    private static Verification verify(PgTools tools, RestoreSource source, String db, RestoreRequest req, List<Phase> phases) {
        if (!req.verify()) {
            return null;
        }
        long t = System.nanoTime();
        try (Connection c = Database.connect(tools.connection().withDbname(db))) {
            // The database's own settings (kept from the live one) may limit sessions; not this one.
            exec(c, "SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0");
            Verification v = Verification.run(c, source.manifest() == null ? null : source.manifest().tables());
            phases.add(phase("verify", t));
            return v;
        } catch (SQLException e) {
            throw ChronoException.failed("verification of " + db + " could not run: " + e.getMessage(), "inspect " + db + " by hand", e);
        }
    }

    /**
     * Ends the other sessions, then renames live to previous and staging to live in one
     * transaction. The first rename holds an exclusive lock on the database, so sessions that
     * try to connect meanwhile wait and then find the new database. A session that slips in
     * between the terminate and the rename makes the rename fail (55006): end it and retry.
     * Only when sessions keep coming back (a pool reconnecting at once) are new connections
     * blocked with ALLOW_CONNECTIONS false, and allowed again right after; that flag is the
     * one thing a crash in that short window could leave behind, so it is the last resort.
     * Returns false when there was no live database to replace.
     */
    private boolean swap(Connection admin, String live, String staging, String previous, DatabaseProperties kept) throws SQLException {
        // The staging marker gives way to the live database's comment in the renames' transaction:
        // a crash leaves either a marked staging database or the finished swap, never an unmarked copy.
        String comment = kept != null ? kept.commentSql(live) : "COMMENT ON DATABASE " + Identifiers.quote(live) + " IS NULL";
        if (kept == null || !exists(admin, live)) {
            admin.setAutoCommit(false);
            try {
                exec(admin, "ALTER DATABASE " + Identifiers.quote(staging) + " RENAME TO " + Identifiers.quote(live));
                exec(admin, "COMMENT ON DATABASE " + Identifiers.quote(live) + " IS NULL");
                admin.commit();
            } catch (SQLException | RuntimeException e) {
                admin.rollback();
                throw e;
            } finally {
                admin.setAutoCommit(true);
            }
            return false;
        }
        boolean blocked = false;
        boolean swapped = false;
        try {
            for (int attempt = 1; ; attempt++) {
                if (attempt == 4) {
                    log.warn("sessions keep reconnecting to {}; blocking new connections for the swap", live);
                    exec(admin, "ALTER DATABASE " + Identifiers.quote(live) + " ALLOW_CONNECTIONS false");
                    blocked = true;
                }
                terminate(admin, live);
                admin.setAutoCommit(false);
                try {
                    exec(admin, "ALTER DATABASE " + Identifiers.quote(live) + " RENAME TO " + Identifiers.quote(previous));
                    betweenRenames.run();
                    exec(admin, "ALTER DATABASE " + Identifiers.quote(staging) + " RENAME TO " + Identifiers.quote(live));
                    exec(admin, comment);
                    admin.commit();
                    swapped = true;
                    return true;
                } catch (SQLException e) {
                    admin.rollback();
                    if (!"55006".equals(e.getSQLState()) || attempt >= 6) {
                        throw ChronoException.failed("swap failed, " + live + " is unchanged: " + e.getMessage(),
                                "the restored copy is in " + staging, e);
                    }
                    log.warn("a session reached {} before the rename; retrying the swap ({})", live, attempt);
                } catch (RuntimeException e) {
                    admin.rollback();
                    throw e;
                } finally {
                    admin.setAutoCommit(true);
                }
            }
        } finally {
            if (blocked) {
                // The old data accepts connections again under whichever name it now has.
                exec(admin, "ALTER DATABASE " + Identifiers.quote(swapped ? previous : live) + " ALLOW_CONNECTIONS true");
            }
        }
    }

    private static void terminate(Connection admin, String db) throws SQLException {
        long deadline = System.nanoTime() + 15_000_000_000L;
        String sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()";
        while (true) {
            int n;
            try (PreparedStatement ps = admin.prepareStatement(sql)) {
                ps.setString(1, db);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    n = rs.getInt(1);
                }
            }
            if (n == 0) {
                return;
            }
            log.info("ended {} session(s) on {}", n, db);
            if (System.nanoTime() > deadline) {
                throw ChronoException.failed("sessions on " + db + " do not end", "stop the applications using it and run again");
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ChronoException.failed("interrupted while ending sessions on " + db, null);
            }
        }
    }

    /**
     * A new empty database from template0 with the encoding, locale (and locale provider), owner and tablespace of
     * {@code like} (the live database's properties; null when there is none).
     */
    private static void createLike(Connection admin, String db, DatabaseProperties like) throws SQLException {
        StringBuilder sql = new StringBuilder("CREATE DATABASE " + Identifiers.quote(db) + " TEMPLATE template0");
        if (like != null) {
            sql.append(like.createOptions());
        }
        exec(admin, sql.toString());
    }

    static void dropDatabase(Connection admin, String db) throws SQLException {
        terminate(admin, db);
        exec(admin, "DROP DATABASE IF EXISTS " + Identifiers.quote(db));
    }

    private static boolean exists(Connection admin, String db) throws SQLException {
        try (PreparedStatement ps = admin.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
            ps.setString(1, db);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /** A string literal for DDL that takes no parameters (values from the catalog, not from users). */
    static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    /** live + suffix, shortening live so the name fits PostgreSQL's 63 bytes. */
    static String derivedName(String live, String suffix) {
        String base = live;
        while ((base + suffix).getBytes(StandardCharsets.UTF_8).length > MAX_NAME) {
            base = base.substring(0, base.length() - 1);
        }
        return base + suffix;
    }

    private static Phase phase(String name, long startNanos) {
        return new Phase(name, (System.nanoTime() - startNanos) / 1_000_000);
    }

    private static List<String> append(List<String> list, String more) {
        List<String> out = new ArrayList<>(list);
        out.add(more);
        return out;
    }
}
