package dev.chronodr.restore;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.ChronoException;
import dev.chronodr.maintenance.FreeSpace;
import dev.chronodr.maintenance.FreeSpaceProbe;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.pg.PgTools;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.Compression;
import dev.chronodr.report.TextOutput;

/**
 * Free space before a restore writes anything. A restore that fills the disk under
 * PostgreSQL can PANIC the server (WAL cannot be written) and take every database down, so
 * the space the restore will need is compared with what is free where it will be written:
 * <ul>
 *   <li>the new database's tablespace: twice the dump's uncompressed size (table data with
 *       its on-disk overhead, and the indexes built from it), plus 48 bytes per row the
 *       manifest counts (tuple headers: what narrow rows add most), plus the catalogs a new
 *       database copies from template0;</li>
 *   <li>pg_wal: the WAL those writes make before checkpoints recycle it, at most max_wal_size;</li>
 *   <li>for a parallel restore of a compressed archive, the decompressed copy in the
 *       repository's .partial area.</li>
 * </ul>
 * Needs on the same filesystem add up. Free space is read on this machine when the server's
 * data directory is here, and with {@code df} inside the container in compose/docker mode.
 */
final class RestoreSpace {
    private static final Logger log = LoggerFactory.getLogger(RestoreSpace.class);
    /** Data on disk plus indexes, per byte of dump. */
    static final int DATA_FACTOR = 2;
    /**
     * Per row, on top: a tuple header and line pointer (28 bytes) and a primary-key entry (about
     * 20), which narrow rows feel most. Measured: 30000 rows of (int, md5 text) take 2.9 MB besides
     * the catalogs, estimated 4.1 MB; the demo schema (wide rows, several indexes) 27 MB, estimated 46 MB.
     */
    static final int ROW_OVERHEAD = 48;
    /** Custom or directory archives compressed inside (pg_dump's default), per byte of file. */
    static final int INTERNAL_COMPRESSION_FACTOR = 4;

    /** One need at one place; {@code key} names its filesystem (null when its free space is unknown). */
    record Need(String what, String path, long bytes, Object key, Long free, String unknown, boolean liveData) {
    }

    private RestoreSpace() {
    }

    /**
     * Refuses (exit 1) when the restore does not fit, naming what it needs and what is free;
     * refuses (exit 64) when free space cannot be learned and {@code confirmed} is false; else
     * returns notes (estimates, and what could not be checked).
     */
    static List<String> check(Connection admin, PgTools tools, RestoreSource source, RestoreMode mode, boolean unpack, Path repoRoot,
                              DatabaseProperties live, boolean confirmed) throws SQLException {
        long dump = uncompressedBytes(source);
        long rows = source.manifest() == null || source.manifest().tables() == null ? 0
                : source.manifest().tables().stream().mapToLong(t -> t.rows() == null ? 0 : t.rows()).sum();
        // A new database starts as a copy of template0: its catalogs (about 7.5 MB) come first.
        long data = DATA_FACTOR * dump + ROW_OVERHEAD * rows + databaseSize(admin, "template0");
        long wal = Math.min(data, maxWalSize(admin));
        long liveSize = live == null ? 0 : databaseSize(admin, live.name());
        String tablespace = live == null ? FreeSpaceProbe.DEFAULT_TABLESPACE : live.tablespace();

        List<Need> needs = new ArrayList<>();
        needs.add(place(admin, tools, "the restored database (twice the dump's " + TextOutput.bytes(dump)
                + (rows > 0 ? ", and " + ROW_OVERHEAD + " bytes for each of " + rows + " rows" : "") + ", for tables and indexes, and its catalogs)",
                tablespace, null, data, true));
        needs.add(place(admin, tools, "WAL written by the restore", FreeSpaceProbe.DEFAULT_TABLESPACE, "pg_wal", wal, false));
        if (unpack) {
            needs.add(local("the decompressed copy for --jobs", UnpackDir.where(repoRoot), dump));
        }

        List<String> notes = new ArrayList<>();
        List<Need> unknown = needs.stream().filter(n -> n.key() == null).toList();
        if (!unknown.isEmpty()) {
            String why = unknown.get(0).unknown();
            if (!confirmed) {
                throw ChronoException.usage("cannot check free space for " + unknown.get(0).what() + ": " + why
                        + "; it needs about " + TextOutput.bytes(unknown.get(0).bytes()) + "; nothing was touched",
                        "make sure the server has that much free, then run again with --yes");
            }
            unknown.forEach(n -> {
                String w = "free space not checked for " + n.what() + " (needs about " + TextOutput.bytes(n.bytes()) + "): " + n.unknown();
                log.warn(w);
                notes.add(w);
            });
        }

        // Needs on one filesystem add up.
        Map<Object, List<Need>> byFs = new LinkedHashMap<>();
        needs.stream().filter(n -> n.key() != null).forEach(n -> byFs.computeIfAbsent(n.key(), k -> new ArrayList<>()).add(n));
        boolean inPlace = mode == RestoreMode.IN_PLACE;
        String shortfall = null;
        boolean inPlaceFits = true;
        for (List<Need> group : byFs.values()) {
            long need = group.stream().mapToLong(Need::bytes).sum();
            long free = group.get(0).free();
            boolean holdsLive = group.stream().anyMatch(Need::liveData);
            // --in-place drops the live database first, which gives its space back.
            long freeInPlace = free + (holdsLive ? liveSize : 0);
            if (need > freeInPlace) {
                inPlaceFits = false;
            }
            if (need > (inPlace ? freeInPlace : free) && shortfall == null) {
                shortfall = "not enough free space: the restore needs about " + TextOutput.bytes(need) + " on " + group.get(0).path()
                        + " (" + String.join(" + ", group.stream().map(n -> TextOutput.bytes(n.bytes()) + " for " + n.what()).toList())
                        + ") and only " + TextOutput.bytes(free) + " is free there"
                        + (inPlace && holdsLive ? " (" + TextOutput.bytes(freeInPlace) + " once the live database is dropped)" : "")
                        + "; nothing was touched";
            }
        }
        if (shortfall != null) {
            String hint;
            if (inPlace) {
                hint = "free space on that filesystem, or restore into another server";
            } else if (inPlaceFits && live != null) {
                hint = "--in-place would fit: it drops the live database (" + TextOutput.bytes(liveSize) + ") first, after a safety backup, "
                        + "and leaves no copy to fall back on; or free space";
            } else {
                hint = "--in-place would not fit either; free space, or restore into another server";
            }
            throw ChronoException.failed(shortfall, hint);
        }
        if (source.manifest() == null || source.manifest().file("dump") == null || source.manifest().file("dump").uncompressedBytes() <= 0) {
            notes.add("free space checked against an estimated " + TextOutput.bytes(dump) + " of dump (no manifest with its uncompressed size)");
        }
        return notes;
    }

    /** The dump's size as pg_restore/psql reads it: from the manifest, else from the file. */
    static long uncompressedBytes(RestoreSource source) {
        BackupManifest m = source.manifest();
        BackupManifest.FileEntry f = m == null ? null : m.file("dump");
        if (f != null && f.uncompressedBytes() > 0) {
            return f.uncompressedBytes();
        }
        try {
            if (source.format() == ArchiveFormat.DIRECTORY) {
                long total = 0;
                boolean compressed = false;
                try (Stream<Path> files = Files.list(source.dump())) {
                    for (Path p : files.toList()) {
                        total += Files.size(p);
                        String name = p.getFileName().toString();
                        compressed |= name.endsWith(".gz") || name.endsWith(".lz4") || name.endsWith(".zst");
                    }
                }
                return compressed ? total * INTERNAL_COMPRESSION_FACTOR : total;
            }
            long bytes;
            if (source.method() == Compression.Method.NONE) {
                bytes = Files.size(source.dump());
            } else {
                try (InputStream in = source.open()) {
                    bytes = in.transferTo(OutputStream.nullOutputStream());
                }
            }
            // A custom archive without a chrono-dr manifest is most likely compressed inside (pg_dump -Fc's default).
            return source.format() == ArchiveFormat.CUSTOM ? bytes * INTERNAL_COMPRESSION_FACTOR : bytes;
        } catch (IOException e) {
            throw ChronoException.failed("backup " + source.id() + " is corrupt or truncated: " + e.getMessage() + "; nothing was touched",
                    "choose another backup");
        }
    }

    private static long maxWalSize(Connection admin) throws SQLException {
        try (PreparedStatement ps = admin.prepareStatement("SELECT pg_size_bytes(current_setting('max_wal_size'))");
             ResultSet rs = ps.executeQuery()) {
            return rs.next() ? rs.getLong(1) : Long.MAX_VALUE;
        }
    }

    private static long databaseSize(Connection admin, String db) throws SQLException {
        try (PreparedStatement ps = admin.prepareStatement("SELECT pg_database_size(oid) FROM pg_database WHERE datname = ?")) {
            ps.setString(1, db);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }

    /** Where the server writes: a tablespace's directory ({@code sub} below it), seen from here or from inside the container. */
    private static Need place(Connection admin, PgTools tools, String what, String tablespace, String sub, long bytes, boolean liveData)
            throws SQLException {
        ExecSettings exec = tools.exec();
        if (exec.mode() != ExecMode.LOCAL) {
            String dir = directory(admin, tablespace);
            if (dir == null) {
                return new Need(what, null, bytes, null, null, "this role may not read the data directory's location "
                        + "(needs superuser or pg_read_all_settings)", liveData);
            }
            String path = sub == null ? dir : dir + "/" + sub;
            return containerDf(tools, what, path, bytes, liveData);
        }
        FreeSpace f = FreeSpaceProbe.probe(admin, tools.connection(), tablespace);
        if (!f.checked()) {
            return new Need(what, f.path(), bytes, null, null, f.note(), liveData);
        }
        Path path = sub == null ? Path.of(f.path()) : Path.of(f.path()).resolve(sub);
        try {
            FileStore store = Files.getFileStore(path);
            return new Need(what, path.toString(), bytes, store, store.getUsableSpace(), null, liveData);
        } catch (IOException e) {
            return new Need(what, path.toString(), bytes, null, null, "cannot read the free space of " + path + ": " + e.getMessage(), liveData);
        }
    }

    /** A place on this machine: the nearest existing directory at or above {@code path}. */
    private static Need local(String what, Path path, long bytes) {
        Path p = path.toAbsolutePath();
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        try {
            FileStore store = Files.getFileStore(p == null ? Path.of("/") : p);
            return new Need(what, path.toString(), bytes, store, store.getUsableSpace(), null, false);
        } catch (IOException e) {
            return new Need(what, path.toString(), bytes, null, null, "cannot read the free space of " + path + ": " + e.getMessage(), false);
        }
    }

    private static String directory(Connection admin, String tablespace) throws SQLException {
        String sql = FreeSpaceProbe.DEFAULT_TABLESPACE.equals(tablespace)
                ? "SELECT setting FROM pg_settings WHERE name = 'data_directory'"
                : "SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = ?";
        try (PreparedStatement ps = admin.prepareStatement(sql)) {
            if (!FreeSpaceProbe.DEFAULT_TABLESPACE.equals(tablespace)) {
                ps.setString(1, tablespace);
            }
            try (ResultSet rs = ps.executeQuery()) {
                String dir = rs.next() ? rs.getString(1) : null;
                return dir == null || dir.isEmpty() ? null : dir;
            }
        }
    }

    /** {@code df -Pk PATH} in the database's container: POSIX output, so the fourth field is the free KiB. */
    static Need containerDf(PgTools tools, String what, String path, long bytes, boolean liveData) {
        List<String> argv = tools.inContainer(List.of("df", "-Pk", path));
        String where = tools.exec().mode().name().toLowerCase(Locale.ROOT) + " container";
        ProcessResult r;
        try {
            r = tools.runner().execute(ProcessSpec.of(argv).withTimeout(Duration.ofSeconds(30)));
        } catch (RuntimeException e) {
            return new Need(what, path, bytes, null, null, "df in the " + where + " could not run: " + e.getMessage(), liveData);
        }
        List<String> lines = r.stdout().lines().filter(l -> !l.isBlank()).toList();
        if (!r.succeeded() || lines.size() < 2) {
            return new Need(what, path, bytes, null, null, "df " + path + " in the " + where + " failed: "
                    + (r.stderrTail().isBlank() ? "exit " + r.exitCode() : r.stderrTail().strip()), liveData);
        }
        String[] f = lines.get(lines.size() - 1).trim().split("\\s+");
        try {
            long free = Long.parseLong(f[3]) * 1024;
            String mount = String.join(" ", java.util.Arrays.copyOfRange(f, 5, f.length));
            return new Need(what, path + " (in the " + where + ")", bytes, "container:" + mount, free, null, liveData);
        } catch (RuntimeException e) {
            return new Need(what, path, bytes, null, null, "unexpected df output in the " + where + ": " + lines.get(lines.size() - 1), liveData);
        }
    }
}
