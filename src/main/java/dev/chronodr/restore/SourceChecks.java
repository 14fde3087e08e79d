package dev.chronodr.restore;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.function.Predicate;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.BackupVerifier;
import dev.chronodr.repo.Compression;

/**
 * What is checked about the backup before anything is touched: the server is not older than the
 * backup, the files match their manifest, pg_restore reads the archive (plain SQL: psql is never
 * handed a line that leaves the target), and a backup without tables does not replace a database
 * that has some. Each refusal says "nothing was touched".
 */
final class SourceChecks {
    private SourceChecks() {
    }

    static void refuseNewerServer(RestoreSource source, ServerInfo server) {
        BackupManifest m = source.manifest();
        if (m != null && m.serverVersionNum() / 10000 > server.version().major()) {
            throw ChronoException.failed("backup " + source.id() + " comes from PostgreSQL " + m.serverVersion()
                    + ", newer than this server (" + server.versionString() + ")",
                    "restore it into a server of version " + m.serverVersionNum() / 10000 + " or later");
        }
    }

    /** Every file of the backup against the SHA-256 in its manifest. */
    static void checksums(RestoreSource source) {
        checksums(source, f -> true);
    }

    static void checksums(RestoreSource source, Predicate<BackupManifest.FileEntry> which) {
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

    static String sha256(Path p) {
        try {
            return BackupVerifier.sha256(p);
        } catch (IOException e) {
            throw ChronoException.failed("cannot read " + p + ": " + e.getMessage(), null);
        }
    }

    /** The archive's entries, and how many of them are tables (null: not known, a plain dump). */
    record Toc(int entries, Integer tables) {
    }

    /**
     * A backup with no tables must not replace a database that has them: what a failed
     * pg_dump leaves behind would swap in an empty database and verify "0 of 0 rows".
     */
    static void refuseEmpty(PgTools tools, RestoreSource source, Toc contents, String live) throws SQLException {
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

    /**
     * Reads the archive's table of contents with pg_restore --list, which also proves that
     * this pg_restore can read the archive's version. Dumps without a manifest are also read
     * to their end, so a truncated or corrupt gzip/zstd stream fails its own checksum here.
     * Plain SQL must not switch databases (\connect), or it would write outside the target.
     */
    static Toc tableOfContents(PgTools tools, RestoreSource source) {
        if (source.manifest() == null && source.format() != ArchiveFormat.DIRECTORY && source.method() != Compression.Method.NONE
                && source.unpacked() == null || source.format() == ArchiveFormat.PLAIN) {
            readThrough(source);
        }
        if (source.format() == ArchiveFormat.PLAIN) {
            return new Toc(0, null);
        }
        var spec = source.format() == ArchiveFormat.DIRECTORY || source.unpacked() != null
                ? tools.spec(PgTool.PG_RESTORE, List.of("--list", (source.unpacked() != null ? source.unpacked() : source.dump()).toString()))
                : tools.spec(PgTool.PG_RESTORE, List.of("--list")).withStdin(out -> DumpLoader.feed(source, out));
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
}
