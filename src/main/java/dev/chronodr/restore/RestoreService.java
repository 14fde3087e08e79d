package dev.chronodr.restore;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.chronodr.backup.BackupService;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Progress;
import dev.chronodr.crypto.SecretKeys;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.Repository;
import dev.chronodr.restore.RestoreResult.Phase;

/**
 * Restores a dump without ever leaving the user without a database under its name.
 * {@link #plan} decides everything first and touches nothing (the mode, the backup, the names,
 * what to confirm); {@link #execute} then carries the plan out:
 * <ol>
 *   <li>checks: checksums against the manifest, the archive's table of contents ({@link SourceChecks});</li>
 *   <li>restore into a new database: beside ({@link NewDatabaseRestore}), a staging one
 *       ({@link ReplaceRestore}), or the recreated live one ({@link InPlaceRestore});</li>
 *   <li>verify: row counts against the manifest, no foreign-key orphans;</li>
 *   <li>swap (replace mode): both renames in ONE transaction ({@link DatabaseSwap}).</li>
 * </ol>
 */
public final class RestoreService {
    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss");
    private static final String MAINTENANCE_DB = "postgres";
    private static final int MAX_NAME = 63;

    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final Progress progress;
    private final String version;
    /** The secret keys that open encrypted backups (--decrypt-key); null when none was given. */
    private final SecretKeys keys;
    /** Runs between the two renames of the swap; tests inject a failure here. */
    private Runnable betweenRenames = () -> { };

    public RestoreService(ProcessRunner runner, ToolLocator locator, Progress progress, String chronoDrVersion) {
        this(runner, locator, progress, chronoDrVersion, null);
    }

    /** {@code keys}: what opens an encrypted backup (--decrypt-key), null when none was given. */
    public RestoreService(ProcessRunner runner, ToolLocator locator, Progress progress, String chronoDrVersion, SecretKeys keys) {
        this.runner = runner;
        this.locator = locator;
        this.progress = progress;
        this.version = chronoDrVersion;
        this.keys = keys;
    }

    void betweenRenames(Runnable hook) {
        this.betweenRenames = hook;
    }

    /** Finds the dump: before any confirmation, so a wrong path or id fails fast. */
    public RestoreSource resolve(Target target, RestoreRequest req) {
        Repository repo = Repository.open(target.repo());
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
        source = source.withKeys(keys); // an encrypted backup without its key stops here: exit 3, nothing touched
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
        return execute(target, plan(target, req, source), TableLoaded.NONE);
    }

    /** As {@link #restore(Target, RestoreRequest, RestoreSource)}, telling {@code loaded} of each table whose data is in. */
    public RestoreResult restore(Target target, RestoreRequest req, RestoreSource source, TableLoaded loaded) {
        return execute(target, plan(target, req, source), loaded);
    }

    /** Carries the plan out: the checks, then the mode's own steps. */
    public RestoreResult execute(Target target, RestorePlan plan) {
        return execute(target, plan, TableLoaded.NONE);
    }

    private RestoreResult execute(Target target, RestorePlan plan, TableLoaded loaded) {
        RestoreRequest req = plan.request();
        RestoreSource source = plan.source();
        String live = plan.database();
        List<Phase> phases = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        try (Connection admin = Database.connect(target.connection().withDbname(MAINTENANCE_DB))) {
            ServerInfo server = ServerInfo.probe(admin);
            PgTools tools = new PgTools(target.exec(), target.connection(), runner, locator, server.version());
            SourceChecks.refuseNewerServer(source, server);
            if (plan.mode() == RestoreMode.NEW_DATABASE && Databases.exists(admin, plan.restoredInto())) {
                throw ChronoException.failed("database " + plan.restoredInto() + " already exists; restore never overwrites it",
                        "choose another --target-db, or drop it first: DROP DATABASE " + Identifiers.quote(plan.restoredInto()) + ";");
            }
            int jobs = jobs(req, source, tools, notes);

            Repository repo = Repository.open(target.repo());
            boolean unpack = jobs > 1 && source.format() == ArchiveFormat.CUSTOM
                    && (source.method() != Compression.Method.NONE || source.encrypted());
            // What a killed restore of this database left behind goes first: it holds disk space.
            notes.addAll(StagingDatabases.cleanLeftovers(admin, live));
            notes.addAll(RestoreSpace.check(admin, tools, source, plan.mode(), unpack, repo.localRoot().orElse(Repository.spoolDirectory()), DatabaseProperties.capture(admin, live),
                    req.goOnUnchecked()));
            long t = System.nanoTime();
            if (unpack) {
                source = new UnpackedCopy(runner, locator).make(source, repo);
            } else if (!source.checksummed()) {
                SourceChecks.checksums(source);
            }
            for (String p : source.passedOver()) {
                notes.add("passed over newer backup " + p);
            }
            phases.add(phase("checksums", t));
            try {
                t = System.nanoTime();
                SourceChecks.Toc contents = SourceChecks.tableOfContents(tools, source);
                phases.add(phase("toc", t));
                if (plan.mode() != RestoreMode.NEW_DATABASE && !req.allowEmpty()) {
                    SourceChecks.refuseEmpty(tools, source, contents, live);
                }
                if (req.withGlobals()) {
                    t = System.nanoTime();
                    notes.addAll(globals(tools, admin, source));
                    phases.add(phase("globals", t));
                }
                RestoreSettings settings = RestoreSettings.forRestore(admin, source, tools, jobs);
                notes.addAll(settings.notes());
                RestoreContext context = new RestoreContext(plan, source, admin, tools, new DumpLoader(progress, settings, notes, loaded), jobs,
                        contents.entries(), phases, notes);
                return switch (plan.mode()) {
                    case NEW_DATABASE -> new NewDatabaseRestore().run(context);
                    case REPLACE -> new ReplaceRestore(ApplicationServices.of(target, runner), new DatabaseSwap(betweenRenames),
                            dev.chronodr.pgbouncer.PgBouncerPause.of(target, runner)).run(context);
                    case IN_PLACE -> new InPlaceRestore(target, ApplicationServices.of(target, runner),
                            new BackupService(runner, locator, progress, version)).run(context);
                };
            } finally {
                if (source.unpacked() != null) {
                    UnpackedCopy.delete(source.unpacked());
                }
            }
        } catch (SQLException e) {
            throw ChronoException.failed("restore failed: " + e.getMessage(), null, e);
        }
    }

    /** The jobs that will really run: one for plain SQL, and when the archive is streamed into a container. */
    private static int jobs(RestoreRequest req, RestoreSource source, PgTools tools, List<String> notes) {
        int jobs = req.jobs();
        if (jobs > 1 && (source.format() == ArchiveFormat.PLAIN || tools.exec().mode() != ExecMode.LOCAL)) {
            notes.add(source.format() == ArchiveFormat.PLAIN ? "plain SQL restores in one session; --jobs ignored"
                    : "--exec " + tools.exec().mode().name().toLowerCase(Locale.ROOT) + " streams the archive into the container; --jobs ignored");
            jobs = 1;
        }
        if (source.format() == ArchiveFormat.DIRECTORY && tools.exec().mode() != ExecMode.LOCAL) {
            throw ChronoException.usage("a directory archive can only be restored with --exec local", "restore from a custom-format file instead");
        }
        return jobs;
    }

    /** Roles and tablespaces first, for a new server; existing ones are left as they are and reported. */
    private static List<String> globals(PgTools tools, Connection admin, RestoreSource source) throws SQLException {
        BackupManifest m = source.manifest();
        BackupManifest.FileEntry f = m == null ? null : m.file("globals");
        if (f == null) {
            throw ChronoException.failed("backup " + source.id() + " has no roles and tablespaces to restore",
                    "only full backups taken by chrono-dr save them; drop --with-globals, or create the roles first");
        }
        GlobalsRestore.Outcome o = GlobalsRestore.apply(tools, admin, source.backupDir().resolve(f.name()).toString(),
                () -> source.openFile(f.name()));
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

    /** A random key for psql's {@code \\restrict}, or null where this psql lacks it (see {@link DumpLoader}). */
    static String restrictKey(PgTools tools) {
        return DumpLoader.restrictKey(tools);
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
}
