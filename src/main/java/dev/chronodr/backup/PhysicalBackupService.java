package dev.chronodr.backup;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Progress;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.Lsn;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.BackupManifest.FileEntry;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.PhysicalBackupInfo;
import dev.chronodr.repo.RepoLock;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StagedBackup;
import dev.chronodr.repo.Storage;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.crypto.OpenPgp;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.core.Json;
import dev.chronodr.report.TextOutput;

/**
 * A physical base backup. On the database host pg_basebackup writes base.tar.zst (the
 * server compresses) and backup_manifest into the staging directory while we hash the tar
 * as it grows, and streams the WAL from the backup's start to its end beside it
 * (pg_wal.tar, stored compressed): the backup is consistent on its own. Through a
 * container, {@code pg_basebackup -D - -X none} streams one tar to our stdin, which is
 * compressed and hashed here while parsed for backup_label and backup_manifest. Either
 * way the backup is committed only once its last segment is in the archive, so that
 * recovery can go on from its end ({@link ArchiverWatch}: the wait shows the archiver's
 * state and ends early when the archiver fails).
 */
public final class PhysicalBackupService {
    /** The repository groups backups per database; a base backup is the whole cluster. */
    public static final String CLUSTER = "cluster";
    private static final Pattern LABEL_LSN = Pattern.compile("START WAL LOCATION: ([0-9A-F]+/[0-9A-F]+)");
    private static final Pattern LABEL_TIME = Pattern.compile("START TIME: (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d) (\\S+)");
    private static final Pattern LABEL_TLI = Pattern.compile("START TIMELINE: (\\d+)");
    private static final String SERVER = """
            SELECT current_setting('archive_mode'), (SELECT setting::int FROM pg_settings WHERE name = 'wal_segment_size'),
                   (SELECT system_identifier FROM pg_control_system()),
                   current_setting('max_wal_senders')::int - (SELECT count(*) FROM pg_catalog.pg_stat_get_wal_senders()),
                   current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_replication_slots),
                   EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_type = 'physical' AND active AND NOT temporary)
            """;
    private static final String TABLESPACES = """
            SELECT oid, spcname, pg_catalog.pg_tablespace_location(oid) FROM pg_catalog.pg_tablespace
            WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid
            """;
    /** What pg_basebackup -X stream writes beside the base tar. */
    public static final String WAL_TAR = "pg_wal.tar";

    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final Progress progress;
    private final String version;
    private final Duration archiveWait;
    /** Set for an incremental base backup (PostgreSQL 17): the backup it is taken against. */
    private final IncrementalParent parent;

    public PhysicalBackupService(ProcessRunner runner, ToolLocator locator, Progress progress, String chronoDrVersion, Duration archiveWait) {
        this(runner, locator, progress, chronoDrVersion, archiveWait, null);
    }

    private PhysicalBackupService(ProcessRunner runner, ToolLocator locator, Progress progress, String chronoDrVersion, Duration archiveWait,
                                  IncrementalParent parent) {
        this.runner = runner;
        this.locator = locator;
        this.progress = progress;
        this.version = chronoDrVersion;
        this.archiveWait = archiveWait;
        this.parent = parent;
    }

    /** The same service taking {@code pg_basebackup --incremental} against {@code parent}'s backup_manifest. */
    PhysicalBackupService incrementalOf(IncrementalParent parent) {
        return new PhysicalBackupService(runner, locator, progress, version, archiveWait, parent);
    }

    public PhysicalBackupResult backup(Target target, String label, Compression compression) {
        return backup(target, label, compression, null);
    }

    /**
     * {@code recipients}: the public keys its tars (base, WAL, tablespaces) are encrypted to
     * after compression (null: stored as they are). The manifest then records them, and each
     * file's SHA-256 is that of its stored (encrypted) bytes, as for a logical backup.
     */
    public PhysicalBackupResult backup(Target target, String label, Compression compression, Recipients recipients) {
        Repository repo = Repository.open(target.repo());
        try (Connection conn = Database.connect(target.connection())) {
            ServerInfo server = ServerInfo.probe(conn);
            Cluster cluster = Cluster.read(conn);
            // The archive is filled by archive_command (wal-push) or by a receiver streaming through a slot (wal-receive).
            if ("off".equals(cluster.archiveMode()) && !cluster.streamed()) {
                throw ChronoException.failed("WAL archiving is off on this server and no WAL receiver streams it: a base backup without"
                                + " archived WAL cannot be restored",
                        "run 'chrono-dr pitr setup --apply' and restart PostgreSQL, or keep 'chrono-dr wal-receive' running, first");
            }
            PgTools tools = new PgTools(target.exec(), target.connection(), runner, locator, server.version());
            tools.argv(PgTool.PG_BASEBACKUP, List.of()); // refuses a missing or too old pg_basebackup before anything starts
            if (!cluster.tablespaces().isEmpty() && !direct(tools)) {
                throw ChronoException.failed("this cluster has " + cluster.tablespaces().size() + " tablespace(s) outside its data directory: "
                                + "pg_basebackup writes one tar per tablespace, which chrono-dr takes only on the database host "
                                + "with pg_basebackup 15 or newer (a container's stdout carries one tar)",
                        "run 'chrono-dr backup --type physical --exec local' on the database host");
            }
            repo.ensureExists();
            try (RepoLock lock = repo.lock(CLUSTER)) {
                repo.removeLeftovers(CLUSTER);
                return run(target, repo, server, tools, new Plan(label, compression, recipients), cluster, ArchiverWatch.start(conn));
            }
        } catch (SQLException e) {
            throw ChronoException.failed("base backup failed: " + e.getMessage(), null, e);
        }
    }

    /**
     * What the backup needs to know of the cluster before it starts. {@code walRoom}: -X
     * stream takes a second WAL sender and a temporary slot besides the backup's own sender.
     */
    /** {@code streamed}: an active, permanent physical slot, the kind wal-receive (or a standby) streams through. */
    private record Cluster(String archiveMode, int segSize, long sysId, boolean walRoom, List<PhysicalBackupInfo.Tablespace> tablespaces,
                           boolean streamed) {
        // pg_stat_get_wal_senders() lists every WAL sender to any role; pg_stat_activity hides other roles' backend types
        static Cluster read(Connection conn) throws SQLException {
            try (Statement st = conn.createStatement()) {
                List<PhysicalBackupInfo.Tablespace> spaces = new ArrayList<>();
                try (ResultSet rs = st.executeQuery(TABLESPACES)) {
                    while (rs.next()) {
                        String location = rs.getString(3);
                        if (location == null || !location.startsWith("/")) {
                            // allow_in_place_tablespaces (a developer setting): the files live under pg_tblspc itself
                            throw ChronoException.failed("tablespace " + rs.getString(2) + " is an in-place tablespace ('" + location
                                    + "'), which chrono-dr's base backups do not cover", "move its tables to a tablespace with a LOCATION");
                        }
                        spaces.add(new PhysicalBackupInfo.Tablespace(rs.getLong(1), rs.getString(2), location));
                    }
                }
                try (ResultSet rs = st.executeQuery(SERVER)) {
                    rs.next();
                    return new Cluster(rs.getString(1), rs.getInt(2), rs.getLong(3), rs.getInt(4) >= 2 && rs.getInt(5) >= 1, spaces,
                            rs.getBoolean(6));
                }
            }
        }
    }

    /** What the user asked of this backup: its label, compression and recipients (null: not encrypted). */
    private record Plan(String label, Compression compression, Recipients recipients) {
    }

    private PhysicalBackupResult run(Target target, Repository repo, ServerInfo server, PgTools tools, Plan plan, Cluster cluster,
                                     ArchiverWatch archiver) {
        String label = plan.label();
        Compression compression = plan.compression();
        int segSize = cluster.segSize();
        OffsetDateTime started = Clock.now();
        long t0 = System.nanoTime();
        String id = repo.newId(CLUSTER, "physical", started);
        // On object storage the backup is made in a private local spool first (pg_basebackup writes files
        // there itself), then uploaded into the bucket and committed there; the spool goes in any case.
        Path spool = repo.remote() ? spool(id) : null;
        Repository local = spool == null ? repo : new Repository(spool);
        try (StagedBackup stage = local.stage(CLUSTER, id)) {
            // pg_basebackup -D writes its files here itself; everything of ours goes through stage.write
            Path staged = stage.toolDirectory();
            Path base = staged.resolve(PhysicalBackupInfo.BASE_FILE + compression.suffix());
            Received got;
            try (ArchiverWatch.ServerWait serverWait = archiver.watchServerWait("chrono-dr " + id, progress)) {
                try {
                    got = direct(tools)
                            ? receiveDirect(tools, id, stage, base, compression, server.version().major() >= 15, cluster.walRoom(), t0)
                            : receiveStream(tools, id, stage, base.getFileName().toString(), compression, t0);
                } catch (ChronoException e) {
                    serverWait.close(); // joined: its reason, if any, is final
                    if (serverWait.reason().isPresent()) {
                        progress.done();
                        String archive = new WalArchive(repo).location();
                        throw ChronoException.failed(serverWait.reason().get() + ": the server was waiting for WAL up to this backup's end "
                                + "that will not reach " + archive + ", so chrono-dr stopped the backup; "
                                + "the backup is not kept", "the server log has archive_command's error; check that the OS user the server "
                                + "runs as can write " + archive + (repo.remote() ? " (its environment needs the AWS settings)"
                                : " (chrono-dr pitr setup --apply does that)"), e);
                    }
                    throw e;
                }
            }
            progress.done();
            OffsetDateTime stopped = Clock.now();
            FileEntry wal = packWal(stage, staged, compression);
            String backupLabel = got.label();
            if (!stage.files().contains(PhysicalBackupInfo.PG_MANIFEST)) {
                throw ChronoException.failed("pg_basebackup's output has no backup_manifest",
                        "use pg_basebackup 13 or newer, without --no-manifest");
            }
            JsonNode manifest;
            try (InputStream in = stage.read(PhysicalBackupInfo.PG_MANIFEST)) {
                manifest = Json.mapper().readTree(in);
            }
            requireKnownTablespaces(manifest, cluster.tablespaces());
            List<FileEntry> spaces = new ArrayList<>();
            for (PhysicalBackupInfo.Tablespace ts : cluster.tablespaces()) {
                spaces.add(tablespaceEntry(staged, ts, compression, manifest));
            }
            JsonNode ranges = manifest.path("WAL-Ranges");
            JsonNode first = ranges.get(0);
            JsonNode last = ranges.get(ranges.size() - 1);
            int timeline = last.path("Timeline").asInt();
            // The manifest's first WAL range starts where backup_label's START WAL LOCATION does.
            Lsn startLsn = Lsn.parse(backupLabel != null ? find(LABEL_LSN, backupLabel) : first.path("Start-LSN").asText());
            int startTli = backupLabel != null ? Integer.parseInt(find(LABEL_TLI, backupLabel)) : first.path("Timeline").asInt();
            Lsn stopLsn = Lsn.parse(last.path("End-LSN").asText());
            String stopSeg = stopLsn.segmentBefore(timeline, segSize);
            long rawBytes = got.rawBytes();
            if (rawBytes < 0) {
                rawBytes = 0;
                for (JsonNode f : manifest.path("Files")) {
                    rawBytes += f.path("Path").asText().startsWith("pg_tblspc/") ? 0 : f.path("Size").asLong();
                }
            }
            PhysicalBackupInfo info = new PhysicalBackupInfo(id, cluster.sysId(), timeline, startLsn.toString(), stopLsn.toString(),
                    startLsn.segment(startTli, segSize), stopSeg,
                    backupLabel != null ? labelTime(backupLabel, started) : started, stopped, segSize, server.version().num(),
                    cluster.tablespaces());
            if (parent != null) {
                info = info.withParent(parent.id());
            }
            archiver.await(new WalArchive(repo), stopSeg, "the end of this base backup", archiveWait, progress);

            byte[] infoJson = Json.mapper().writeValueAsBytes(info);
            Storage.Written infoFile = stage.write(PhysicalBackupInfo.FILE_NAME, out -> out.write(infoJson));
            List<FileEntry> files = new ArrayList<>(List.of(
                    new FileEntry(base.getFileName().toString(), "base", Files.size(base), rawBytes, got.sha256(), compression.toString()),
                    plainEntry(stage, PhysicalBackupInfo.PG_MANIFEST, "pg_backup_manifest"),
                    new FileEntry(PhysicalBackupInfo.FILE_NAME, "pitr", infoFile.size(), infoFile.size(), infoFile.sha256(), "none")));
            if (wal != null) {
                files.add(wal);
            }
            files.addAll(spaces);
            if (plan.recipients() != null) {
                files.replaceAll(f -> f.role().equals("base") || f.role().equals("wal") || f.role().equals("tablespace")
                        ? seal(stage, staged, f, plan.recipients()) : f);
            }
            requireOnly(staged, files);
            OffsetDateTime finished = Clock.now();
            BackupManifest m = new BackupManifest(BackupManifest.FORMAT_VERSION, id, "physical", label, CLUSTER,
                    target.connection().host(), target.connection().port(), server.versionString(), server.version().num(),
                    tools.exec().mode().name().toLowerCase(Locale.ROOT) + " pg_basebackup" + got.how()
                            + (parent == null ? "" : " --incremental against " + parent.id()), version, started, finished,
                    Duration.ofNanos(System.nanoTime() - t0).toMillis(), compression.toString(), "tar", List.of(), files,
                    new BackupManifest.Globals(true, true, "a base backup holds the whole cluster, roles included"),
                    plan.recipients() == null ? null : new BackupManifest.Encryption(BackupManifest.Encryption.OPENPGP, plan.recipients().list()));
            String dir = spool == null ? repo.commit(stage, m) : upload(repo, stage, m);
            return PhysicalBackupResult.of(m, info, dir);
        } catch (IOException e) {
            throw ChronoException.failed("base backup failed: " + e.getMessage(), "check free space in " + local.location()
                    + (spool == null ? "" : " (the spool: CHRONO_DR_SPOOL chooses another directory) and access to " + repo.location()), e);
        } finally {
            Repository.removeSpooled(spool);
        }
    }

    /**
     * A private directory for a base backup bound for object storage: PID-backup-ID in the
     * spool ({@link Repository#spoolDirectory}), so a killed run's spool is removed by the
     * next run that copies into the spool.
     */
    private static Path spool(String id) {
        Path dir = Repository.spoolDirectory().resolve(ProcessHandle.current().pid() + "-backup-" + id.replaceAll("[^A-Za-z0-9_.-]", "_"));
        try {
            Files.createDirectories(dir.getParent(), dev.chronodr.core.AtomicFile.privateDir());
            Repository.removeSpooled(dir);
            return Files.createDirectory(dir, dev.chronodr.core.AtomicFile.privateDir());
        } catch (IOException e) {
            throw ChronoException.failed("cannot make a spool directory for the base backup at " + dir + ": " + e.getMessage(),
                    "CHRONO_DR_SPOOL chooses another directory");
        }
    }

    /**
     * The spooled backup into the bucket: each file streamed up, its stored size and SHA-256
     * (computed on the way) compared with the manifest's, then SHA256SUMS and the manifest
     * last, the commit. An upload cut short leaves objects without a manifest, which no
     * listing shows and the next backup or cleanup removes.
     */
    private String upload(Repository repo, StagedBackup spooled, BackupManifest m) throws IOException {
        try (StagedBackup up = repo.stage(CLUSTER, m.id())) {
            for (FileEntry f : m.files()) {
                progress.update("base backup: uploading " + f.name() + " (" + TextOutput.bytes(f.bytes()) + ") to " + repo.location());
                Storage.Written w = up.write(f.name(), out -> {
                    try (InputStream in = spooled.read(f.name())) {
                        in.transferTo(out);
                    }
                });
                if (w.size() != f.bytes() || !w.sha256().equals(f.sha256())) {
                    throw ChronoException.failed(f.name() + " changed between the spool and " + repo.location() + " (SHA-256 " + w.sha256()
                            + ", written " + f.sha256() + "); the backup is not kept", "run the backup again");
                }
            }
            progress.done();
            return repo.commit(up, m);
        }
    }

    /**
     * What came out of pg_basebackup: backup_label (null when not read), base.tar's digest,
     * its size before compression (-1: take the files' sizes from the manifest), and how.
     */
    private record Received(String label, String sha256, long rawBytes, String how) {
    }

    /**
     * On the database host with pg_basebackup 15+, pg_basebackup writes base.tar.&lt;ext&gt; and
     * backup_manifest into the staging directory itself, compressed by the server (15+) or
     * by pg_basebackup, and we hash the file as it grows. Through a container its stdout is
     * the only way out, so there the tar is streamed and compressed here.
     */
    private static boolean direct(PgTools tools) {
        return tools.exec().mode() == ExecMode.LOCAL && tools.locate(PgTool.PG_BASEBACKUP).version().major() >= 15;
    }

    private List<String> baseArgs(PgTools tools, String id, String dir, String walMethod) {
        List<String> args = new ArrayList<>(tools.connectionArgs());
        args.addAll(List.of("-D", dir, "-Ft", "-X", walMethod, "-c", "fast", "--no-password", "-l", "chrono-dr " + id));
        if (parent != null) {
            args.add("--incremental=" + parent.manifestArg(tools.exec().mode()));
        }
        return args;
    }

    /** pg_basebackup's --compress value; server-side zstd gets the same two workers as chrono-dr's own compressor. */
    static String compressSpec(Compression c, boolean serverSide) {
        String where = serverSide ? "server-" : "client-";
        return switch (c.method()) {
            case NONE -> "none";
            case GZIP -> where + "gzip:level=" + c.level();
            // the fallback from the server's side has no workers: a libzstd without threads fails on them
            case ZSTD -> where + "zstd:level=" + c.level() + (serverSide && Compression.WORKERS > 1 ? ",workers=" + Compression.WORKERS : "");
        };
    }

    /**
     * With -X stream pg_basebackup does not ask the server to wait for the archive: the
     * server would check it once a second, which cost up to two seconds a backup here. We
     * wait for the segment ourselves. Without a free WAL sender or slot: -X none, and the
     * server's wait.
     */
    private Received receiveDirect(PgTools tools, String id, StagedBackup stage, Path base, Compression compression, boolean serverSide,
                                   boolean walStream, long t0) throws IOException {
        String walMethod = walStream ? "stream" : "none";
        List<String> args = baseArgs(tools, id, stage.toolDirectory().toString(), walMethod);
        args.add("--compress=" + compressSpec(compression, serverSide));
        String sha;
        try (GrowingFileDigest digest = new GrowingFileDigest(base, new Throttled(t0, "written")::report)) {
            try {
                tools.run(tools.spec(PgTool.PG_BASEBACKUP, args).withTimeout(Duration.ofHours(24)));
            } catch (ChronoException e) {
                if (serverSide && stderrSays(e, t -> (t.contains("not supported") || t.contains("unsupported") || t.contains("does not support"))
                        && (t.contains("compress") || t.contains("worker")))) {
                    // A server built without this compressor (or without zstd's threads): compress on our side of the socket.
                    digest.close();
                    stage.clear();
                    Received r = receiveDirect(tools, id, stage, base, compression, false, walStream, t0); // client-side, without workers
                    return new Received(r.label(), r.sha256(), r.rawBytes(), r.how() + ", server-side compression unsupported");
                }
                if (walStream && stderrSays(e, t -> t.contains("max_wal_senders") || t.contains("replication slot"))) {
                    // the sender or slot counted free before the start was taken since: let the server wait for the archive instead
                    digest.close();
                    stage.clear();
                    Received r = receiveDirect(tools, id, stage, base, compression, serverSide, false, t0);
                    return new Received(r.label(), r.sha256(), r.rawBytes(), r.how() + ", no WAL sender free to stream");
                }
                throw e;
            }
            sha = digest.finish();
        }
        // The files pg_basebackup wrote are made private and durable by the commit.
        // No backup_label read back (that would decompress): the manifest holds its start, our clock the start time.
        return new Received(null, sha, -1, " -X " + walMethod + " --compress=" + compressSpec(compression, serverSide));
    }

    /** Whether pg_basebackup's last words (lower case) match. */
    private static boolean stderrSays(ChronoException e, java.util.function.Predicate<String> test) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof ProcessFailedException pf) {
                return test.test(pf.stderrTail().toLowerCase(Locale.ROOT));
            }
        }
        return false;
    }

    private Received receiveStream(PgTools tools, String id, StagedBackup stage, String base, Compression compression, long t0)
            throws IOException {
        AtomicReference<String> backupLabel = new AtomicReference<>();
        AtomicReference<Storage.Written> stored = new AtomicReference<>();
        AtomicLong raw = new AtomicLong();
        Throttled report = new Throttled(t0, "read");
        ProcessSpec spec = tools.spec(PgTool.PG_BASEBACKUP, baseArgs(tools, id, "-", "none"));
        if (parent != null && tools.exec().mode() != ExecMode.LOCAL) {
            spec = spec.withStdin(parent::writeManifest); // --incremental=/dev/stdin inside the container
        }
        spec = spec.withStdout(in -> stored.set(stage.write(base, out -> {
            try (OutputStream compressed = new BufferedOutputStream(compression.compress(out), 1 << 20)) {
                Tee tee = new Tee(new BufferedInputStream(in, 1 << 20), compressed, raw, report);
                TarArchiveInputStream tar = new TarArchiveInputStream(tee);
                TarArchiveEntry e;
                while ((e = tar.getNextEntry()) != null) {
                    if (e.getName().equals("backup_label")) {
                        backupLabel.set(new String(tar.readAllBytes(), StandardCharsets.UTF_8));
                    } else if (e.getName().equals(PhysicalBackupInfo.PG_MANIFEST)) {
                        stage.write(PhysicalBackupInfo.PG_MANIFEST, tar::transferTo);
                    }
                }
                // the end-of-archive blocks and padding belong in the file too
                tee.transferTo(OutputStream.nullOutputStream());
            }
        }))).withTimeout(Duration.ofHours(24));
        tools.run(spec);
        return new Received(backupLabel.get(), stored.get().sha256(), raw.get(), " to stdout, compressed by chrono-dr");
    }

    /** Progress lines at most every 200 ms: formatting one per read would cost more than the read. */
    private final class Throttled {
        private final long t0;
        private final String verb;
        private long last;

        Throttled(long t0, String verb) {
            this.t0 = t0;
            this.verb = verb;
        }

        void report(long total) {
            long now = System.nanoTime();
            if (now - last < 200_000_000L) {
                return;
            }
            last = now;
            double secs = (now - t0) / 1e9;
            progress.update(String.format(Locale.ROOT, "base backup: %s %s, %s/s, %.0f s",
                    TextOutput.bytes(total), verb, TextOutput.bytes((long) (total / Math.max(secs, 0.001))), secs));
        }
    }

    /**
     * pg_basebackup -X stream leaves the WAL from the backup's start to its end in pg_wal.tar
     * (a segment is 16 MB of mostly unused space), or pg_wal.tar.gz when it compresses on
     * its side with gzip: stored compressed like the base, and hashed. Null when there is
     * none (-X none).
     */
    private static FileEntry packWal(StagedBackup stage, Path staged, Compression compression) throws IOException {
        Optional<String> name = findTar(staged, WAL_TAR);
        if (name.isEmpty()) {
            return null;
        }
        Path tar = staged.resolve(name.get());
        // a long backup under load streams many segments: never hold the tar in memory
        String packedName = name.get().equals(WAL_TAR) ? WAL_TAR + compression.suffix() : name.get();
        if (packedName.equals(name.get())) {
            // compressed on pg_basebackup's side already (pg_wal.tar.gz), or stored uncompressed: kept as it is
            MessageDigest sha = WalArchive.sha256();
            long raw;
            try (InputStream in = Compression.decompress(Compression.ofFile(tar.getFileName().toString()),
                    new java.security.DigestInputStream(new BufferedInputStream(Files.newInputStream(tar), 1 << 20), sha))) {
                raw = in.transferTo(OutputStream.nullOutputStream());
            }
            return new FileEntry(name.get(), "wal", Files.size(tar), raw, HexFormat.of().formatHex(sha.digest()), compression.toString());
        }
        long[] raw = {0};
        Storage.Written packed = stage.write(packedName, out -> {
            try (InputStream in = Files.newInputStream(tar); OutputStream z = compression.compress(out)) {
                raw[0] = in.transferTo(z);
            }
        });
        stage.delete(WAL_TAR);
        return new FileEntry(packedName, "wal", packed.size(), raw[0], packed.sha256(), compression.toString());
    }

    /**
     * One of the backup's tars encrypted to the recipients, as NAME.gpg, and the plain one
     * removed from the staging directory: only the encrypted file is committed. The plain
     * bytes are checked against the SHA-256 taken as they were written on the way.
     */
    private static FileEntry seal(StagedBackup stage, Path staged, FileEntry f, Recipients recipients) {
        String name = f.name() + BackupManifest.ENCRYPTED_SUFFIX;
        try {
            MessageDigest sha = WalArchive.sha256();
            Storage.Written w = stage.write(name, out -> {
                try (InputStream in = new java.security.DigestInputStream(new BufferedInputStream(Files.newInputStream(staged.resolve(f.name())),
                        1 << 20), sha); OutputStream enc = OpenPgp.encrypt(out, recipients)) {
                    in.transferTo(enc);
                }
            });
            String read = HexFormat.of().formatHex(sha.digest());
            if (!read.equals(f.sha256())) {
                throw ChronoException.failed(f.name() + " changed between pg_basebackup writing it and its encryption (SHA-256 " + read
                        + ", written " + f.sha256() + "); the backup is not kept", "run the backup again");
            }
            stage.delete(f.name());
            return new FileEntry(name, f.role(), w.size(), f.uncompressedBytes(), w.sha256(), f.compression());
        } catch (IOException e) {
            throw ChronoException.failed("cannot encrypt " + f.name() + ": " + e.getMessage(), "check free space in " + staged, e);
        }
    }

    /**
     * The tablespaces were listed before pg_basebackup started: one created in between is in
     * the backup but would have no recorded name or location, and a restore could not map it.
     */
    private static void requireKnownTablespaces(JsonNode manifest, List<PhysicalBackupInfo.Tablespace> listed) {
        for (JsonNode f : manifest.path("Files")) {
            String path = f.path("Path").asText();
            if (path.startsWith("pg_tblspc/")) {
                String oid = path.substring("pg_tblspc/".length()).split("/", 2)[0];
                if (listed.stream().noneMatch(ts -> String.valueOf(ts.oid()).equals(oid))) {
                    throw ChronoException.failed("tablespace " + oid + " was created while the backup ran; the backup is not kept",
                            "run the backup again");
                }
            }
        }
    }

    /** Every file pg_basebackup left must be one the manifest lists: anything else would be committed unchecked. */
    private static void requireOnly(Path staged, List<FileEntry> files) throws IOException {
        List<String> known = files.stream().map(FileEntry::name).toList();
        try (var ls = Files.list(staged)) {
            for (Path p : ls.toList()) {
                String name = p.getFileName().toString();
                if (name.matches("\\d+\\.tar.*") && !known.contains(name)) {
                    throw ChronoException.failed("tablespace " + name.substring(0, name.indexOf('.'))
                            + " was created while the backup ran; the backup is not kept", "run the backup again");
                }
                if (!known.contains(name)) {
                    throw ChronoException.failed("pg_basebackup left " + name + ", which chrono-dr does not expect; the backup is not kept",
                            "report this with the pg_basebackup version (" + staged + " is removed)");
                }
            }
        }
    }

    /**
     * A tablespace's tar, written (compressed like base.tar) by pg_basebackup before the
     * base: hashed once it is complete; its size before compression from the manifest.
     */
    private static FileEntry tablespaceEntry(Path staged, PhysicalBackupInfo.Tablespace ts, Compression compression, JsonNode manifest)
            throws IOException {
        Path f = staged.resolve(ts.tarName() + compression.suffix());
        if (!Files.isRegularFile(f)) {
            throw ChronoException.failed("pg_basebackup wrote no " + f.getFileName() + " for tablespace " + ts.name()
                    + " (dropped while the backup ran?); the backup is not kept", "run the backup again");
        }
        MessageDigest sha = WalArchive.sha256();
        try (InputStream in = new java.security.DigestInputStream(Files.newInputStream(f), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        long raw = 0;
        String prefix = "pg_tblspc/" + ts.oid() + "/";
        for (JsonNode e : manifest.path("Files")) {
            raw += e.path("Path").asText().startsWith(prefix) ? e.path("Size").asLong() : 0;
        }
        return new FileEntry(f.getFileName().toString(), "tablespace", Files.size(f), raw, HexFormat.of().formatHex(sha.digest()),
                compression.toString());
    }

    static FileEntry plainEntry(StagedBackup stage, String name, String role) throws IOException {
        byte[] content;
        try (InputStream in = stage.read(name)) {
            content = in.readAllBytes();
        }
        return new FileEntry(name, role, content.length, content.length, HexFormat.of().formatHex(WalArchive.sha256().digest(content)), "none");
    }

    private static String find(Pattern p, String text) {
        Matcher m = p.matcher(text);
        if (!m.find()) {
            throw ChronoException.failed("unexpected backup_label from pg_basebackup: no " + p.pattern(), null);
        }
        return m.group(1);
    }

    private static OffsetDateTime labelTime(String label, OffsetDateTime fallback) {
        Matcher m = LABEL_TIME.matcher(label);
        if (m.find() && ("UTC".equals(m.group(2)) || "GMT".equals(m.group(2)))) {
            return LocalDateTime.parse(m.group(1), DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")).atOffset(ZoneOffset.UTC);
        }
        return fallback; // the server's log_timezone is not UTC; our own start time is close and earlier
    }

    /** Copies every byte read (including skipped ones) to the compressed file. */
    private final class Tee extends FilterInputStream {
        private final OutputStream copy;
        private final AtomicLong raw;
        private final Throttled report;

        Tee(InputStream in, OutputStream copy, AtomicLong raw, Throttled report) {
            super(in);
            this.copy = copy;
            this.raw = raw;
            this.report = report;
        }

        @Override
        public int read() throws IOException {
            byte[] b = new byte[1];
            int n = read(b, 0, 1);
            return n <= 0 ? -1 : b[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                copy.write(b, off, n);
                report.report(raw.addAndGet(n));
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            byte[] buf = new byte[(int) Math.min(n, 1 << 16)];
            long done = 0;
            while (done < n) {
                int r = read(buf, 0, (int) Math.min(buf.length, n - done));
                if (r < 0) {
                    break;
                }
                done += r;
            }
            return done;
        }

        @Override
        public void close() {
            // the process runner owns the child's stdout
        }
    }

    /** NAME.tar as stored: compressed with zstd or gzip, or not; encrypted (NAME.tar.zst.gpg) or not. */
    public static Optional<String> findTar(Path dir, String tar) {
        return Stream.of(".zst", ".gz", "", ".zst.gpg", ".gz.gpg", ".gpg").map(s -> tar + s)
                .filter(n -> Files.isRegularFile(dir.resolve(n))).findFirst();
    }

    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ChronoException.failed("interrupted", null);
        }
    }

}
