package dev.chronodr.restore;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Lsn;
import dev.chronodr.pg.PgVersion;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.repo.PitrCatalog;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.wal.RestorePoints;

/**
 * The tablespaces that the WAL to be replayed creates. Replaying CREATE TABLESPACE links
 * the copy to the location written in the WAL and reuses that directory when it exists
 * (PostgreSQL cannot map it elsewhere), so a recovered copy on the live server's host
 * would write into the live server's tablespace files. pg_waldump reads the archived
 * segments from the base backup's start to as far as the target can reach, before
 * anything is written.
 */
final class ReplayedTablespaces {
    private static final Pattern CREATE = Pattern.compile("^rmgr: Tablespace .*lsn: ([0-9A-F]+/[0-9A-F]+),.*desc: CREATE (\\d+) \"(.*)\"$");
    /** The records recovery_target_time stops at: commits and aborts, prepared ones too ("COMMIT_PREPARED 755: time"). */
    private static final Pattern END_OF_TX = Pattern.compile(
            "^rmgr: Transaction .*desc: (?:COMMIT|ABORT)(?:_PREPARED \\d+:)? (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?) UTC");
    /** pg_waldump prints six digits of microseconds; any number is accepted. */
    private static final DateTimeFormatter PG_TIME = new java.time.format.DateTimeFormatterBuilder().appendPattern("yyyy-MM-dd HH:mm:ss")
            .appendFraction(java.time.temporal.ChronoField.NANO_OF_SECOND, 0, 9, true).toFormatter();

    /** A CREATE TABLESPACE in the WAL: where the record lies, its OID and the directory it names (empty: in place). */
    record Created(String lsn, long oid, String location) {
    }

    /** pg_waldump's messages in English (they are matched) and its times in UTC. */
    private static final Map<String, String> ENV = Map.of("TZ", "UTC", "LC_ALL", "C");

    private static final String PARTIAL = ".partial";

    private final ProcessRunner runner;
    private final Path waldump;
    private final int major;

    /** {@code binDir}: the programs of the backup's major version, whose WAL format pg_waldump must read. */
    ReplayedTablespaces(ProcessRunner runner, Path binDir, int major) {
        this.runner = runner;
        this.waldump = binDir.resolve("pg_waldump");
        this.major = major;
    }

    /**
     * What was read: the CREATE TABLESPACE records, and the last segment read, beyond which
     * the restore's restore_command hands out nothing (wal-fetch --until), so recovery
     * replays no WAL this did not see.
     */
    record Scan(List<Created> created, String lastSegment) {
    }

    /**
     * Reads the archived segments from the base backup's start, on its timeline, without
     * passing a gap, up to the segment holding the target (and the one after it for an
     * LSN: an inclusive target replays the first record at or past it). For a time, replay
     * runs to the first transaction that ends after it, which only the WAL can tell: the
     * scan stops with the segment where one ends. A target recovery could not reach in
     * the archived WAL (its segment not archived yet; for an LSN no record at or after it;
     * for a time no transaction ending after it) is refused, since the server would stop
     * short of it only after the whole restore.
     */
    Scan scan(PitrCatalog catalog, PhysicalBackupInfo base, RecoveryTarget target) {
        return scan(catalog, base, target, null);
    }

    /** {@code keys}: what decrypts encrypted segments (null: none given), so a wrong key is found before anything is written. */
    Scan scan(PitrCatalog catalog, PhysicalBackupInfo base, RecoveryTarget target, dev.chronodr.crypto.SecretKeys keys) {
        requireTool();
        int seg = base.walSegmentSize();
        Optional<Lsn> end = switch (target.kind()) {
            case IMMEDIATE -> Optional.of(Lsn.parse(base.stopLsn()));
            case LSN -> Optional.of(target.lsn());
            case NAME -> RestorePoints.find(catalog.repository(), target.name()).map(p -> Lsn.parse(p.lsn()));
            case TIME, LATEST -> Optional.empty();
        };
        Optional<String> needed = end.map(l -> l.segmentBefore(base.timeline(), seg));
        Optional<String> last = target.kind() == RecoveryTarget.Kind.LSN ? needed.map(n -> PitrCatalog.next(n, seg)) : needed;
        Set<String> archived = new HashSet<>();
        catalog.wal().stream().filter(WalArchive.Entry::isSegment).forEach(e -> archived.add(e.name()));
        // LATEST replays the segment wal-receive was receiving too (wal-fetch hands out NAME.partial for NAME): it ends the WAL
        Set<String> partials = new HashSet<>();
        if (target.kind() == RecoveryTarget.Kind.LATEST) {
            catalog.wal().stream().map(WalArchive.Entry::name).filter(n -> n.endsWith(PARTIAL)).forEach(n -> partials.add(n.substring(0, 24)));
        }
        if (needed.isPresent() && !archived.contains(needed.get())) {
            throw ChronoException.usage("WAL segment " + needed.get() + ", which holds the target " + target + ", is not archived yet",
                    "wait for the archiver, or run 'chrono-dr backup --type incremental' to switch and archive now");
        }
        List<Created> created = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        String lastRead = null;
        boolean timeReached = false;
        Path scratch = null;
        try {
            scratch = Files.createTempDirectory("chrono-dr-walscan-");
            WalArchive archive = catalog.archive();
            Path previous = null;
            for (String name = base.startWalFile(); archived.contains(name) || partials.contains(name); name = PitrCatalog.next(name, seg)) {
                Path file = scratch.resolve(name);
                boolean partial = !archived.contains(name);
                archive.fetch(partial ? name + PARTIAL : name, file, () -> keys);
                // two segments at a time, from the start of the previous one: a record that crosses
                // into this segment is read whole; records are counted once by their location
                // never before the backup's start: what lies before it is in the base backup, not replayed
                Lsn start = Lsn.parse(base.startLsn());
                Lsn from = previous == null ? start : max(start, Lsn.segmentStart(previous.getFileName().toString(), seg));
                boolean targetPassed = read(scratch, base.timeline(), from, Lsn.segmentEnd(name, seg), target, created, seen);
                if (previous != null) {
                    Files.delete(previous);
                }
                previous = file;
                lastRead = name;
                timeReached |= targetPassed;
                if (partial || targetPassed || (last.isPresent() && name.equals(last.get()))) {
                    break;
                }
            }
            String hint = "wait for the archiver, or run 'chrono-dr backup --type incremental' to switch and archive now";
            if (lastRead == null) {
                throw ChronoException.failed("WAL segment " + base.startWalFile() + ", where base backup " + base.id()
                        + " starts, is not in the archive", "restore from another base backup");
            }
            // From 13 on the server ends with "recovery ended before configured recovery target was reached" after the
            // whole restore; 12 promotes at the end of the WAL, which for these targets is the state asked for.
            boolean shortIsFatal = major >= 13;
            if (target.kind() == RecoveryTarget.Kind.NAME && !timeReached) {
                // the server would replay all of it and then fail (13+) or promote at its end (12): neither is the point asked for
                throw ChronoException.usage("no restore point named '" + target.name() + "' in the archived WAL from base backup "
                        + base.id() + " (" + base.startWalFile() + " to " + lastRead + ")", "check the name (chrono-dr restore-point "
                        + "records its points in " + (catalog.location() + (catalog.repo() == null ? "/.restore_points" : "/restore_points")) + "), or give --point-in-time or --target-lsn");
            }
            if (shortIsFatal && target.kind() == RecoveryTarget.Kind.TIME && !timeReached) {
                throw ChronoException.usage("no transaction ends after " + target.time() + " in the archived WAL (to "
                        + lastRead + "): recovery could not tell it has reached the target", hint);
            }
            if (shortIsFatal && target.kind() == RecoveryTarget.Kind.LSN && !lastRead.equals(last.orElseThrow())
                    && !recordFrom(scratch, base.timeline(), target.lsn(), Lsn.segmentEnd(lastRead, seg))) {
                throw ChronoException.usage("the first record at or after " + target.lsn() + " lies in WAL segment " + last.get()
                        + ", which is not archived yet", hint);
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot check the WAL to replay for new tablespaces: " + e.getMessage(), "check free space in "
                    + System.getProperty("java.io.tmpdir"));
        } finally {
            deleteQuietly(scratch);
        }
        return new Scan(created, lastRead);
    }

    /** pg_waldump reads only its own major version's WAL: a wrong one would read nothing and find nothing. */
    private void requireTool() {
        String hint = "install PostgreSQL " + major + "'s programs (Debian: postgresql-client-" + major + ")";
        if (!Files.isExecutable(waldump)) {
            throw ChronoException.unknown("no pg_waldump in " + waldump.getParent() + " to read the WAL before replaying it", hint);
        }
        ProcessResult r;
        try {
            r = runner.execute(ProcessSpec.of(waldump.toString(), "--version").withTimeout(Duration.ofSeconds(30)));
        } catch (RuntimeException e) {
            throw ChronoException.unknown(waldump + " --version did not run: " + e.getMessage(), hint);
        }
        if (!r.succeeded() || toolMajor(r.stdout()) != major) {
            throw ChronoException.unknown(waldump + " is not PostgreSQL " + major + "'s (" + r.stdout().strip() + ")", hint);
        }
    }

    /** The major of a {@code --version} line, by pg/'s one parser; 0 when it is not PostgreSQL's. */
    private static int toolMajor(String versionLine) {
        try {
            return PgVersion.parseToolVersion(versionLine).major();
        } catch (IllegalArgumentException e) {
            return 0;
        }
    }

    private static Lsn max(Lsn a, Lsn b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    /** Whether a record starts at or after {@code from} and before {@code to} in the segments in {@code dir}. */
    private boolean recordFrom(Path dir, int timeline, Lsn from, Lsn to) {
        ProcessResult r = waldump(ProcessSpec.of(waldump.toString(), "-p", dir.toString(), "-t", String.valueOf(timeline),
                "-s", from.toString(), "-e", to.toString(), "-n", "1").withEnv(ENV).withTimeout(Duration.ofMinutes(1)), from, to);
        // from inside a record pg_waldump first prints "first record is after X, at Y, skipping over N bytes"
        return r.stdout().lines().anyMatch(l -> l.startsWith("rmgr:"));
    }

    /** Runs pg_waldump; a failure other than reaching WAL that was never written is the restore's failure. */
    private ProcessResult waldump(ProcessSpec spec, Lsn from, Lsn to) {
        ProcessResult result;
        try {
            result = runner.execute(spec);
        } catch (RuntimeException e) {
            throw ChronoException.failed("pg_waldump did not finish reading the WAL from " + from + ": " + e.getMessage(), null, e);
        }
        String err = result.stderrTail();
        if (!result.succeeded() && !reachedEndOfWal(err)) {
            throw ChronoException.failed("pg_waldump could not read the archived WAL from " + from + " to " + to + ": " + err.strip(),
                    "check the archive's segments with: chrono-dr verify --backup ID");
        }
        return result;
    }

    /**
     * Whether pg_waldump stopped where the WAL that was ever written ends, which is where
     * recovery stops too: the scan has read all that can be replayed. Archived segments are
     * complete, so these arise at the end of a partial segment (or where the WAL is damaged,
     * which the archive's checksums catch): a zero record length, no valid record after a
     * point, or a page whose header is all zeros, as when a partial segment ends on a page
     * boundary inside a record that continues on a page not received yet. Any other magic
     * number is damage, not an end.
     */
    static boolean reachedEndOfWal(String stderr) {
        return stderr.contains("got 0") || stderr.contains("could not find a valid record after")
                || stderr.contains("invalid magic number 0000 in ");
    }

    /**
     * Adds the CREATE TABLESPACE records from..to not seen before; true when a transaction
     * ends there after a time target, or the restore point of a name target lies there.
     */
    private boolean read(Path dir, int timeline, Lsn from, Lsn to, RecoveryTarget target, List<Created> created, Set<String> seen) {
        AtomicBoolean passed = new AtomicBoolean();
        List<String> argv = new ArrayList<>(List.of(waldump.toString(), "-p", dir.toString(), "-t", String.valueOf(timeline),
                "-s", from.toString(), "-e", to.toString()));
        if (major >= 15) {
            argv.addAll(List.of("-r", "Tablespace", "-r", "Transaction")); // repeated -r: pg_waldump 15 and newer
            if (target.kind() == RecoveryTarget.Kind.NAME) {
                argv.addAll(List.of("-r", "XLOG")); // restore points
            }
        }
        AtomicBoolean unreadable = new AtomicBoolean();
        ProcessSpec spec = ProcessSpec.of(argv).withEnv(ENV).withTimeout(Duration.ofMinutes(10))
                .withStdout(in -> {
                    BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
                    String line;
                    while ((line = r.readLine()) != null) {
                        Optional<Created> c = parseCreate(line);
                        if ((c.isEmpty() && line.startsWith("rmgr: Tablespace") && line.contains("desc: CREATE"))
                                || (c.isPresent() && c.get().location().indexOf('\uFFFD') >= 0)) {
                            unreadable.set(true); // a location with a line break, or bytes that are not UTF-8: fail closed
                        } else if (c.isPresent() && seen.add(c.get().lsn())) {
                            created.add(c.get());
                        } else if (target.kind() == RecoveryTarget.Kind.TIME && endsAfter(line, target.time())) {
                            passed.set(true);
                        } else if (target.kind() == RecoveryTarget.Kind.NAME && isRestorePoint(line, target.name())) {
                            passed.set(true);
                        }
                    }
                });
        waldump(spec, from, to);
        if (unreadable.get()) {
            throw ChronoException.failed("pg_waldump printed a CREATE TABLESPACE between " + from + " and " + to
                    + " whose directory cannot be read back (a line break in its name?)", "restore on another host, or to an earlier target");
        }
        return passed.get();
    }

    /** A pg_waldump line of a CREATE TABLESPACE (the same from PostgreSQL 12 to 17), with where it lies. */
    static Optional<Created> parseCreate(String line) {
        if (!line.startsWith("rmgr: Tablespace")) {
            return Optional.empty();
        }
        Matcher m = CREATE.matcher(line);
        return m.matches() ? Optional.of(new Created(m.group(1), Long.parseLong(m.group(2)), m.group(3))) : Optional.empty();
    }

    /** Whether a pg_waldump line is the restore point {@code name} ("rmgr: XLOG ... desc: RESTORE_POINT name"). */
    static boolean isRestorePoint(String line, String name) {
        return line.startsWith("rmgr: XLOG") && line.endsWith("desc: RESTORE_POINT " + name);
    }

    /** Whether a pg_waldump line (run with TZ=UTC) is a commit or abort later than {@code time}. */
    static boolean endsAfter(String line, OffsetDateTime time) {
        if (!line.startsWith("rmgr: Transaction")) {
            return false;
        }
        Matcher m = END_OF_TX.matcher(line);
        return m.find() && LocalDateTime.parse(m.group(1), PG_TIME).atOffset(ZoneOffset.UTC).isAfter(time);
    }

    /**
     * Refuses, before anything is written, a replay that would use a directory holding files
     * (on this host the live server's tablespace, or anything else: PostgreSQL's redo takes
     * the directory as it finds it, and before 12.9/13.5 removed its contents), a file, or
     * one inside or around the data directory or a restored tablespace. Returns the
     * directories recovery will use, which the restore makes (or empties' owner it sets).
     */
    static List<Path> requireUnused(List<Created> created, Path data, Collection<Path> restored) {
        return requireUnused(created, data, restored, false);
    }

    /** {@code forceClean}: a directory a failed restore left (marked) counts as unused; it is emptied before the restore writes. */
    static List<Path> requireUnused(List<Created> created, Path data, Collection<Path> restored, boolean forceClean) {
        List<Path> dirs = new ArrayList<>();
        for (Created c : created) {
            if (c.location().isEmpty()) {
                continue; // an in-place tablespace (allow_in_place_tablespaces) lives inside the copy's own pg_tblspc
            }
            Path dir;
            try {
                dir = Path.of(c.location()).normalize();
            } catch (java.nio.file.InvalidPathException e) {
                throw ChronoException.failed("the WAL to replay creates tablespace " + c.oid() + " at a directory this process cannot name ("
                        + e.getMessage() + ")", "run the restore with a UTF-8 locale (LANG=C.UTF-8)");
            }
            String hint = "restore on another host, or to a target before tablespace " + c.oid() + " was created; nothing was written";
            boolean nested = dir.startsWith(data) || data.startsWith(dir)
                    || restored.stream().anyMatch(d -> d.startsWith(dir) || dir.startsWith(d));
            if (nested || (Files.exists(dir) && !Files.isDirectory(dir))) {
                throw ChronoException.failed("the WAL to replay creates tablespace " + c.oid() + " at " + dir
                        + ", which is a file or lies inside or around the restore's own directories", hint);
            }
            if (RestoreMark.refusal(dir, "directory " + dir, forceClean).isPresent()) {
                throw ChronoException.failed("the WAL to replay creates tablespace " + c.oid() + " at " + dir
                        + ", which holds files (the live server's tablespace if it runs on this host): recovery would "
                        + "write into them", hint);
            }
            dirs.add(dir);
        }
        return dirs;
    }


    /**
     * Removes a scratch tree on the way out (never a repository's: those go through repo/);
     * what cannot be removed now is left, never reported over the real error.
     */
    static void deleteQuietly(Path dir) {
        if (dir == null || !Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path x : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        } catch (IOException | java.io.UncheckedIOException ignored) {
            // left behind
        }
    }
}
