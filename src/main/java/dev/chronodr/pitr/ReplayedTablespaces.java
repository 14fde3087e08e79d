package dev.chronodr.pitr;

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
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.core.ChronoException;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/**
 * The tablespaces that the WAL to be replayed creates. Replaying CREATE TABLESPACE links
 * the copy to the location written in the WAL and reuses that directory when it exists
 * (PostgreSQL cannot map it elsewhere), so a recovered copy on the live server's host
 * would write into the live server's tablespace files. pg_waldump reads the archived
 * segments from the base backup's start to as far as the target can reach, before
 * anything is written.
 */
final class ReplayedTablespaces {
    private static final Pattern CREATE = Pattern.compile("^rmgr: Tablespace .*desc: CREATE (\\d+) \"(.*)\"$");
    private static final Pattern END_OF_TX = Pattern.compile(
            "^rmgr: Transaction .*desc: (?:COMMIT|ABORT) (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?) UTC");
    /** PostgreSQL drops trailing zeros of the microseconds, and the fraction when it is zero. */
    private static final DateTimeFormatter PG_TIME = new java.time.format.DateTimeFormatterBuilder().appendPattern("yyyy-MM-dd HH:mm:ss")
            .appendFraction(java.time.temporal.ChronoField.NANO_OF_SECOND, 0, 9, true).toFormatter();

    /** A CREATE TABLESPACE in the WAL: its OID and the directory it names. */
    record Created(long oid, Path location) {
    }

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
     * Segments from the base backup's first on its timeline, up to the one holding the
     * target (a restore point's or LSN's segment; the base's end for --target-immediate).
     * For a time, replay runs to the first commit after it, which only the WAL can tell:
     * the scan stops after the segment where one appears.
     */
    List<Created> scan(PitrCatalog catalog, PhysicalBackupInfo base, RecoveryTarget target) {
        String tli = String.format("%08X", base.timeline());
        String last = switch (target.kind()) {
            case IMMEDIATE -> base.stopWalFile();
            case LSN -> target.lsn().segment(base.timeline(), base.walSegmentSize());
            case NAME -> RestorePoints.find(catalog.repo(), target.name())
                    .map(p -> Lsn.parse(p.lsn()).segment(base.timeline(), base.walSegmentSize())).orElse(null);
            case TIME -> null;
        };
        List<String> segments = catalog.wal().stream().filter(WalArchive.Entry::isSegment).filter(e -> e.timeline().equals(tli))
                .map(WalArchive.Entry::name).filter(n -> n.compareTo(base.startWalFile()) >= 0 && (last == null || n.compareTo(last) <= 0))
                .sorted().toList();
        WalArchive archive = new WalArchive(catalog.repo());
        List<Created> created = new ArrayList<>();
        Path scratch = null;
        try {
            scratch = Files.createTempDirectory("chrono-dr-walscan-");
            for (String name : segments) {
                Path seg = scratch.resolve(name);
                if (archive.fetch(name, seg).isEmpty()) {
                    break; // a gap: recovery stops there too, and choose() has said so
                }
                boolean targetPassed = read(seg, target, created);
                Files.delete(seg);
                if (targetPassed) {
                    break;
                }
            }
        } catch (IOException e) {
            throw ChronoException.failed("cannot check the WAL to replay for new tablespaces: " + e.getMessage(), "check free space in "
                    + System.getProperty("java.io.tmpdir"));
        } finally {
            deleteQuietly(scratch);
        }
        return created;
    }

    /** Adds the segment's CREATE TABLESPACE records; true when a transaction ends in it after a time target. */
    private boolean read(Path segment, RecoveryTarget target, List<Created> created) {
        AtomicBoolean passed = new AtomicBoolean();
        List<String> argv = new ArrayList<>(List.of(waldump.toString()));
        if (major >= 15) {
            argv.addAll(List.of("-r", "Tablespace", "-r", "Transaction")); // repeated -r: pg_waldump 15 and newer
        }
        argv.add(segment.toString());
        ProcessSpec spec = ProcessSpec.of(argv).withEnv(Map.of("TZ", "UTC")).withTimeout(java.time.Duration.ofMinutes(10))
                .withStdout(in -> {
                    BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
                    String line;
                    while ((line = r.readLine()) != null) {
                        if (line.startsWith("rmgr: Tablespace")) {
                            Matcher m = CREATE.matcher(line);
                            if (m.matches()) {
                                created.add(new Created(Long.parseLong(m.group(1)), Path.of(m.group(2))));
                            }
                        } else if (target.kind() == RecoveryTarget.Kind.TIME && endsAfter(line, target.time())) {
                            passed.set(true);
                        }
                    }
                });
        ProcessResult result = runner.execute(spec);
        String err = result.stderrTail();
        // A segment's unwritten tail (the last one archived after a switch, or streamed) ends the records: not a failure.
        if (!result.succeeded() && !(err.contains("invalid record length") || err.contains("could not find a valid record")
                || err.contains("error in WAL record"))) {
            throw ChronoException.failed("pg_waldump could not read " + segment.getFileName() + ": " + err.strip(),
                    "check the archive with: chrono-dr verify --backup");
        }
        return passed.get();
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
     * Refuses, before anything is written, a replay that would link the copy to a directory
     * holding files (on this host the live server's tablespace, or anything else); returns
     * the directories that do not exist yet, which recovery needs and the restore creates.
     */
    static List<Path> requireUnused(List<Created> created) {
        List<Path> missing = new ArrayList<>();
        for (Created c : created) {
            Path dir = c.location();
            if (Files.isDirectory(dir)) {
                try (var ls = Files.list(dir)) {
                    if (ls.findAny().isPresent()) {
                        throw ChronoException.failed("the WAL to replay creates tablespace " + c.oid() + " at " + dir
                                        + ", which holds files (the live server's tablespace if it runs on this host): PostgreSQL's "
                                        + "recovery would use that directory, and the copy would write into those files",
                                "restore on another host, or to a target before the tablespace was created; nothing was written");
                    }
                } catch (IOException e) {
                    throw ChronoException.failed("cannot read " + dir + ": " + e.getMessage(), null);
                }
            } else if (!Files.exists(dir)) {
                missing.add(dir);
            }
        }
        return missing;
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // a temporary directory
        }
    }
}
