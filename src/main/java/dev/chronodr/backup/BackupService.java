package dev.chronodr.backup;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.config.Target;
import dev.chronodr.core.Background;
import dev.chronodr.core.ChronoException;
import dev.chronodr.crypto.OpenPgp;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Progress;
import dev.chronodr.dump.CustomArchiveReader;
import dev.chronodr.pg.CopyDigest;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.pg.TableDigest;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.BackupManifest.FileEntry;
import dev.chronodr.repo.BackupManifest.TableEntry;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.FramedZstdOutputStream;
import dev.chronodr.repo.RepoLock;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.StagedBackup;
import dev.chronodr.repo.Storage;
import dev.chronodr.report.TextOutput;

/**
 * A logical backup: pg_dump writes an uncompressed custom-format archive to its stdout,
 * chrono-dr compresses and checksums the stream as it passes, and reads the archive in the
 * same pass to count every table's rows and digest its COPY text, so each table is read
 * once (count(*) in the dump's snapshot only when the stream cannot be read). Streamed into a staged backup of the
 * repository, which stores and hashes it, and committed only when pg_dump exited 0.
 */
public final class BackupService {
    private static final Logger log = LoggerFactory.getLogger(BackupService.class);
    public static final String DUMP_FILE = "database.dump";
    public static final String GLOBALS_FILE = "globals.sql";

    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final Progress progress;
    private final String version;
    private final java.util.function.Function<Boolean, CustomArchiveReader> readers;

    public BackupService(ProcessRunner runner, ToolLocator locator, Progress progress, String chronoDrVersion) {
        this(runner, locator, progress, chronoDrVersion, CustomArchiveReader::new);
    }

    /** {@code readers}: the archive reader for a dump, given whether it should digest (tests hand in one that fails). */
    BackupService(ProcessRunner runner, ToolLocator locator, Progress progress, String chronoDrVersion,
                  java.util.function.Function<Boolean, CustomArchiveReader> readers) {
        this.readers = readers;
        this.runner = runner;
        this.locator = locator;
        this.progress = progress;
        this.version = chronoDrVersion;
    }

    public BackupResult backup(Target target, BackupRequest req) {
        if (req.type() == BackupType.DATA && req.tables().isEmpty()) {
            throw ChronoException.usage("--type data needs --tables", "name the tables, e.g. --tables users pages");
        }
        if (req.type() != BackupType.DATA && !req.tables().isEmpty()) {
            throw ChronoException.usage("--tables applies to --type data only", "drop --tables, or use --type data");
        }
        // A bucket's first answer (the SDK's start, a first request) comes beside the database's checks below; the
        // write probe stays where it was, after them, so a refused backup writes nothing. A directory is opened here.
        CompletableFuture<Repository> bucket = target.repo().isS3() ? Background.supply("repository", () -> {
            Repository r = Repository.open(target.repo());
            r.answers();
            return r;
        }) : null;
        Repository repo = bucket == null ? Repository.open(target.repo()) : null;
        try (Connection snapshotConn = Database.connect(target.connection())) {
            ServerInfo server = ServerInfo.probe(snapshotConn);
            PgTools tools = new PgTools(target.exec(), target.connection(), runner, locator, server.version());
            tools.argv(PgTool.PG_DUMP, List.of()); // refuses a pg_dump older than the server, before anything starts
            List<TableEntry> tables = req.type() == BackupType.DATA
                    ? TableSelection.resolve(snapshotConn, req.tables())
                    : TableSelection.all(snapshotConn);
            List<String> unknownDigests = req.digestTables().stream()
                    .filter(n -> tables.stream().noneMatch(t -> t.name().equals(n) || t.qualifiedName().equals(n))).toList();
            if (!unknownDigests.isEmpty()) {
                throw ChronoException.usage("cannot digest " + String.join(", ", unknownDigests) + ": not among the tables backed up",
                        "name tables of this backup (check critical_tables in the config)");
            }
            if (req.type() != BackupType.SCHEMA) {
                TableSelection.requireReadable(snapshotConn, tables, server.currentUser());
            }
            if (bucket != null) {
                repo = join(bucket);
            }
            repo.ensureExists();
            try (RepoLock lock = repo.lock(server.database())) {
                return run(target, req, repo, snapshotConn, server, tools, tables);
            }
        } catch (SQLException e) {
            throw ChronoException.failed("backup failed: " + e.getMessage(), null, e);
        }
    }

    private BackupResult run(Target target, BackupRequest req, Repository repo, Connection conn, ServerInfo server,
                             PgTools tools, List<TableEntry> tables) throws SQLException {
        OffsetDateTime started = Clock.now();
        long t0 = System.nanoTime();
        String id = repo.newId(server.database(), req.type().label(), started);
        // What interrupted runs left, all but this backup: a directory's now, before staging and the dump need the
        // space; a bucket's beside the dump (its deletes wait for the lease's proof, which takes a moment there).
        CompletableFuture<Integer> leftovers = repo.removeLeftoversBeside(server.database(), id);
        StagedBackup staged;
        try {
            staged = repo.stage(server.database(), id);
        } catch (RuntimeException e) {
            settle(leftovers);
            throw e;
        }
        boolean committed = false;
        try (staged) {
            conn.setAutoCommit(false);
            String snapshot;
            try (Statement st = conn.createStatement()) {
                st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                try (ResultSet rs = st.executeQuery("SELECT pg_export_snapshot()")) {
                    rs.next();
                    snapshot = rs.getString(1);
                }
            }
            // Every table this backup reads, locked before pg_dump starts: a lock that is not granted in time fails the
            // backup naming the table and who holds it, instead of a cron job that waits for ever.
            LockWait.lockAll(conn, target.connection(), tables, req.lockTimeout(), progress);
            String dumpName = DUMP_FILE + req.compression().suffix() + encryptedSuffix(req.encryptTo());
            List<String> args = new ArrayList<>(tools.connectionArgs());
            // A conninfo, not PGOPTIONS: it reaches pg_dump inside a container too. The COPY text (and so the digests)
            // depends on these settings; pg_dump pins the others itself.
            args.addAll(List.of("-d", CopyDigest.dumpConninfo(server.database()), "--format=custom", "--compress=0",
                    "--snapshot=" + snapshot, "--lock-wait-timeout=" + req.lockTimeout().toMillis()));
            switch (req.type()) {
                case FULL -> args.add("--create");
                case SCHEMA -> args.addAll(List.of("--create", "--schema-only"));
                case DATA -> {
                    args.add("--data-only");
                    args.add("--strict-names");
                    for (TableEntry t : tables) {
                        args.addAll(List.of("-t", Identifiers.qualified(t.schema(), t.name())));
                    }
                }
            }
            ProcessSpec dump = tools.spec(PgTool.PG_DUMP, args);
            boolean utf8 = "UTF8".equals(serverEncoding(conn));
            // Rows are counted (and digested) in pg_dump's own stream as it passes: each table is read once.
            CustomArchiveReader reader = req.type() == BackupType.SCHEMA ? null : readers.apply(utf8);
            CompletableFuture<FileEntry> dumped = CompletableFuture.supplyAsync(
                    () -> streamToFile(tools, dump, staged, dumpName, "dump", req.compression(), req.encryptTo(), true, reader));
            FileEntry dumpFile;
            try {
                dumpFile = join(dumped);
            } catch (ChronoException e) {
                ChronoException lock = LockWait.dumpGaveUp(e, conn, req.lockTimeout());
                throw lock != null ? lock : e;
            }
            BackupManifest.DumpSession session;
            List<TableEntry> counted;
            if (reader == null) {
                counted = tables;
                session = new BackupManifest.DumpSession(CopyDigest.SESSION, null, "none: schema only", "none: schema only");
            } else {
                reader.finish();
                CountedTables c = countedTables(conn, tables, req, reader, utf8);
                counted = c.tables();
                session = c.session();
            }
            progress.done();
            conn.commit();

            List<FileEntry> files = new ArrayList<>(List.of(dumpFile));
            BackupManifest.Globals globals = new BackupManifest.Globals(false, false, "only full backups save roles and tablespaces");
            if (req.type() == BackupType.FULL) {
                globals = dumpGlobals(tools, server, staged, req.compression(), req.encryptTo(), files);
            }
            OffsetDateTime finished = Clock.now();
            BackupManifest manifest = new BackupManifest(BackupManifest.FORMAT_VERSION, id, req.type().label(), req.label(),
                    server.database(), target.connection().host(), target.connection().port(), server.versionString(),
                    server.version().num(), tools.exec().mode().name().toLowerCase(Locale.ROOT) + " pg_dump " + dumpVersion(tools),
                    version, started, finished, Duration.ofNanos(System.nanoTime() - t0).toMillis(), req.compression().toString(),
                    "custom", counted, files, globals, req.encryptTo() == null ? null
                    : new BackupManifest.Encryption(BackupManifest.Encryption.OPENPGP, req.encryptTo().list()), session);
            String finalDir = repo.commit(staged, manifest);
            committed = true;
            return new BackupResult(manifest, finalDir, List.of(), 0).withLeftoversRemoved(leftoversRemoved(leftovers, server.database()));
        } finally {
            if (!committed) {
                try {
                    conn.rollback();
                } catch (SQLException ignored) {
                    // the connection is closed by the caller either way
                }
                settle(leftovers);
            }
        }
    }

    /**
     * A failed backup lets the removal of leftovers end while it still holds the lease: after the
     * lease, another backup of the database may be writing. Bounded, for a server that hangs;
     * its outcome is not this backup's.
     */
    private static void settle(CompletableFuture<Integer> leftovers) {
        try {
            leftovers.get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.debug("leftovers of earlier runs: {}", e.getMessage());
        }
    }

    /** The count once the removal is done; the backup is committed by then, so a failure here is only a warning. */
    private static int leftoversRemoved(CompletableFuture<Integer> leftovers, String database) {
        int removed;
        try {
            removed = join(leftovers);
        } catch (RuntimeException e) {
            log.warn("what interrupted runs of {} left was not removed (the next backup tries again): {}", database, e.getMessage());
            return 0;
        }
        if (removed > 0) {
            log.info("removed {} unfinished backup(s) of {} left by an interrupted run", removed, database);
        }
        return removed;
    }

    private record CountedTables(List<TableEntry> tables, BackupManifest.DumpSession session) {
    }

    /**
     * Each table's rows (and c256 digest) from the archive stream; count(*) in the dump's snapshot (still open)
     * for any table the stream could not give, and for all of them when the reader failed. Tables named by
     * --digest/--digest-all that got no c256 digest get the older scan digest, as before.
     */
    private CountedTables countedTables(Connection conn, List<TableEntry> tables, BackupRequest req, CustomArchiveReader reader,
                                        boolean utf8) throws SQLException {
        List<TableEntry> out = new ArrayList<>();
        List<TableEntry> slow = new ArrayList<>();
        for (TableEntry t : tables) {
            var data = reader.table(t.schema(), t.name());
            if (data.isPresent()) {
                String digest = data.get().sha256() == null ? null : CopyDigest.of(data.get().sha256());
                out.add(new TableEntry(t.schema(), t.name(), data.get().rows(), digest));
            } else {
                out.add(null);
                slow.add(t);
            }
        }
        String counts = "archive stream";
        if (reader.failure().isPresent()) {
            log.warn("counting rows with count(*) after the dump: the archive stream could not be read ({})", reader.failure().get());
            counts = "count(*) in the dump's snapshot: the archive stream could not be read (" + reader.failure().get() + ")";
        } else if (!slow.isEmpty()) {
            log.warn("counting rows of {} table(s) with count(*): no data in the archive for {}", slow.size(),
                    slow.get(0).qualifiedName() + (slow.size() > 1 ? " and others" : ""));
            counts = "archive stream; count(*) for " + slow.size() + " table(s) without data in the archive";
        }
        if (!slow.isEmpty()) {
            List<TableEntry> slowCounted = count(conn, slow);
            for (int i = 0, j = 0; i < out.size(); i++) {
                if (out.get(i) == null) {
                    out.set(i, slowCounted.get(j++));
                }
            }
        }
        String digests;
        if (!utf8) {
            digests = "none from the stream: the database's encoding is not UTF8 (pgjdbc reads UTF8 text, so a drill could not compare bytes)";
        } else if (reader.failure().isPresent()) {
            digests = "none from the stream: it could not be read";
        } else {
            digests = "c256: SHA-256 of each table's COPY text, archive " + reader.archiveVersion();
        }
        // For --digest tables left without a c256 digest: the older scan digest.
        List<TableEntry> withDigest = new ArrayList<>();
        List<TableEntry> scan = out.stream().filter(t -> t.digest() == null && req.digests(t.schema(), t.name())).toList();
        if (!scan.isEmpty()) {
            Map<String, TableEntry> digested = new java.util.HashMap<>();
            for (TableEntry t : digestByScan(conn, scan)) {
                digested.put(t.qualifiedName(), t);
            }
            for (TableEntry t : out) {
                withDigest.add(digested.getOrDefault(t.qualifiedName(), t));
            }
            out = withDigest;
        }
        return new CountedTables(out, new BackupManifest.DumpSession(CopyDigest.SESSION, reader.archiveVersion(), counts, digests));
    }

    private static List<TableEntry> count(Connection conn, List<TableEntry> tables) throws SQLException {
        List<TableEntry> out = new ArrayList<>();
        try (Statement st = conn.createStatement()) {
            for (TableEntry t : tables) {
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + Identifiers.qualified(t.schema(), t.name()))) {
                    rs.next();
                    out.add(new TableEntry(t.schema(), t.name(), rs.getLong(1)));
                }
            }
        }
        return out;
    }

    private static List<TableEntry> digestByScan(Connection conn, List<TableEntry> tables) throws SQLException {
        List<TableEntry> out = new ArrayList<>();
        TableDigest.pinSettings(conn);
        for (TableEntry t : tables) {
            TableDigest.Digest d = TableDigest.of(conn, t.schema(), t.name());
            out.add(new TableEntry(t.schema(), t.name(), d.rows(), d.value()));
        }
        return out;
    }

    private static String serverEncoding(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('server_encoding')")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Roles and tablespaces; passwords only when the role may read pg_authid. */
    private BackupManifest.Globals dumpGlobals(PgTools tools, ServerInfo server, StagedBackup staged, Compression compression,
                                               Recipients encryptTo, List<FileEntry> files) {
        List<String> args = new ArrayList<>(tools.connectionArgs());
        args.addAll(List.of("-l", server.database(), "--globals-only"));
        if (!server.superuser()) {
            args.add("--no-role-passwords");
        }
        try {
            files.add(streamToFile(tools, tools.spec(PgTool.PG_DUMPALL, args), staged, GLOBALS_FILE + compression.suffix()
                    + encryptedSuffix(encryptTo), "globals", compression, encryptTo, false, null));
            return new BackupManifest.Globals(true, server.superuser(),
                    server.superuser() ? null : "role passwords need a superuser connection; roles were saved without them");
        } catch (ChronoException e) {
            log.warn("roles and tablespaces not saved: {}", e.getMessage());
            return new BackupManifest.Globals(false, false, "pg_dumpall failed: " + e.getMessage());
        }
    }

    private static String encryptedSuffix(Recipients encryptTo) {
        return encryptTo == null ? "" : BackupManifest.ENCRYPTED_SUFFIX;
    }

    /**
     * Runs a tool and streams its stdout through compression (and OpenPGP encryption to
     * {@code encryptTo}, when set) into the staged backup, which stores and hashes the bytes as
     * stored. No plaintext copy: the encryption is one more stream stage, 64 KiB at a time.
     */
    private FileEntry streamToFile(PgTools tools, ProcessSpec spec, StagedBackup staged, String name, String role, Compression compression,
                                   Recipients encryptTo, boolean showProgress, CustomArchiveReader reader) {
        AtomicLong raw = new AtomicLong();
        AtomicReference<Storage.Written> written = new AtomicReference<>();
        AtomicReference<List<BackupManifest.Frame>> frames = new AtomicReference<>();
        long t0 = System.nanoTime();
        tools.run(spec.withStdout(in -> written.set(staged.write(name, stored -> {
            // Closing the compressor closes the encryption too, which writes the message's end (MDC) but leaves
            // the stored stream to the storage.
            OutputStream sink = encryptTo == null ? stored : OpenPgp.encrypt(stored, encryptTo);
            OutputStream compressor = compression.compress(sink);
            try (OutputStream compressed = compressor) {
                InputStream counted = new FilterInputStream(in) {
                    @Override
                    public int read(byte[] b, int off, int len) throws IOException {
                        int n = super.read(b, off, len);
                        if (n > 0 && reader != null) {
                            reader.accept(b, off, n); // reads the bytes where they are; never throws
                        }
                        if (n > 0 && showProgress && progress != Progress.NONE) {
                            long total = raw.addAndGet(n);
                            double secs = (System.nanoTime() - t0) / 1e9;
                            progress.update(String.format(Locale.ROOT, "backup: %s read, %s/s, %.0f s",
                                    TextOutput.bytes(total), TextOutput.bytes((long) (total / Math.max(secs, 0.001))), secs));
                        } else if (n > 0) {
                            raw.addAndGet(n);
                        }
                        return n;
                    }
                };
                counted.transferTo(compressed);
            }
            // Where the stored frames start, for a restore that decompresses them side by side (only
            // unencrypted: the frames of an encrypted file are inside the message).
            if (encryptTo == null && compressor instanceof FramedZstdOutputStream f && f.frames().size() > 1) {
                frames.set(f.frames());
            }
        }))));
        Storage.Written w = written.get();
        if (w == null) {
            throw ChronoException.failed("cannot finish " + name + ": nothing was stored", null);
        }
        return new FileEntry(name, role, w.size(), raw.get(), w.sha256(), compression.toString(), frames.get());
    }

    private String dumpVersion(PgTools tools) {
        return switch (tools.exec().mode()) {
            case LOCAL -> {
                var l = tools.locate(PgTool.PG_DUMP);
                yield locator.exactVersion(l.path()).orElse(l.version()).toString();
            }
            default -> "(in container)";
        };
    }


    private static <T> T join(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

}
