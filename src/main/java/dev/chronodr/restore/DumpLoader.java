package dev.chronodr.restore;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Progress;
import dev.chronodr.dump.TableDataItems;
import dev.chronodr.pg.PgTool;
import dev.chronodr.pg.PgTools;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.repo.Compression;

/**
 * Loads a dump into a database: pg_restore for archives (stdin, or a seekable file for --jobs),
 * psql for plain SQL behind the line filter, with the progress counted from pg_restore's items.
 */
final class DumpLoader {
    private static final Logger log = LoggerFactory.getLogger(DumpLoader.class);

    /** "finished item N TABLE DATA": anywhere in a line, as the leader's and the workers' writes interleave. */
    private static final Pattern DATA_FINISHED = Pattern.compile("finished item (\\d+) TABLE DATA ");

    private final Progress progress;
    private final RestoreSettings settings;
    private final List<String> notes;
    private final TableLoaded loaded;

    DumpLoader(Progress progress) {
        this(progress, RestoreSettings.none(), new ArrayList<>(), TableLoaded.NONE);
    }

    /**
     * @param settings pg_restore's session settings; {@code notes} receives what their flush has to say
     * @param loaded   told of each table whose data a parallel restore has committed
     */
    DumpLoader(Progress progress, RestoreSettings settings, List<String> notes, TableLoaded loaded) {
        this.progress = progress;
        this.settings = settings;
        this.notes = notes;
        this.loaded = loaded;
    }

    /** Plain SQL for psql: checked line by line as it goes, behind psql's own \\restrict where this psql has it. */
    private static void feedPlain(RestoreSource source, OutputStream out, String restrictKey) throws IOException {
        try (InputStream in = source.open()) {
            PlainSqlGuard.copy(in, out, restrictKey);
        } catch (PlainSqlGuard.Refused r) {
            throw new IOException(SourceChecks.refusedPlainSql(source, r).getMessage());
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
    static void feed(RestoreSource source, OutputStream out) throws IOException {
        try (InputStream in = source.open()) {
            in.transferTo(out);
        }
    }

    /**
     * What turns pg_restore's "finished item N TABLE DATA" lines into {@link TableLoaded} calls,
     * or null when nobody listens or the archive's items cannot be known. A dump whose data goes
     * through a partition root announces nothing: a partition's rows come from several items.
     */
    private Consumer<String> announcer(Path archive) {
        if (loaded == TableLoaded.NONE) {
            return null;
        }
        Map<Integer, TableDataItems.Item> items = TableDataItems.read(archive).orElse(Map.of());
        if (items.isEmpty() || !items.values().stream().allMatch(TableDataItems.Item::loadsItself)) {
            return null;
        }
        return line -> {
            Matcher m = DATA_FINISHED.matcher(line);
            while (m.find()) {
                TableDataItems.Item item;
                try {
                    item = items.get(Integer.parseInt(m.group(1)));
                } catch (NumberFormatException tooLong) {
                    continue; // no item number has that many digits: text inside some name
                }
                // the item's own tag follows and ends the line (pg_restore writes the message in one piece), or it is a
                // name that happens to contain these words
                if (item != null && line.startsWith(item.table(), m.end()) && m.end() + item.table().length() == line.length()) {
                    loaded.loaded(item.schema(), item.table());
                }
            }
        };
    }

    /** Loads the dump into {@code db}, and drops {@code db} when that fails. */
    void loadOrDrop(Connection admin, PgTools tools, RestoreSource source, String db, int jobs, int toc) {
        try {
            load(tools, source, db, jobs, toc);
        } catch (RuntimeException e) {
            // Half a restore is of no use to anyone; the live database was never touched.
            loaded.failed(); // nothing reads the tables already in while they are dropped
            try {
                Databases.drop(admin, db);
            } catch (SQLException dropFailure) {
                log.warn("could not drop the half-restored database {}: {}", db, dropFailure.getMessage());
            }
            throw e;
        }
    }

    /**
     * pg_restore reads stdin when one job is enough; a parallel restore reads a seekable
     * file: the archive itself when uncompressed, else the copy {@link UnpackedCopy} made.
     */
    void load(PgTools tools, RestoreSource source, String db, int jobs, int toc) {
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
        Path file = source.format() == ArchiveFormat.DIRECTORY || source.method() == Compression.Method.NONE && !source.encrypted() && jobs > 1
                ? source.dump() : source.unpacked();
        RestoreProgress counter = progress == Progress.NONE ? null : new RestoreProgress(progress, toc, jobs > 1);
        Consumer<String> announcer = jobs > 1 && file != null && source.format() == ArchiveFormat.CUSTOM ? announcer(file) : null;
        if (counter != null || announcer != null) {
            args.add("-v"); // one line per item: what the progress counts, and the tables whose data is in
        }
        Consumer<String> lines = counter == null ? announcer : announcer == null ? counter::line : l -> {
            counter.line(l);
            announcer.accept(l);
        };
        // The session settings reach pg_restore's connections (and only those) through PGOPTIONS.
        java.util.function.UnaryOperator<ProcessSpec> watched = spec -> (lines == null ? spec : spec.withStderrLines(lines))
                .withEnv(settings.env());
        if (file != null) {
            args.add(file.toString());
            tools.run(watched.apply(tools.spec(PgTool.PG_RESTORE, args)));
        } else {
            tools.run(watched.apply(tools.spec(PgTool.PG_RESTORE, args)).withStdin(out -> feed(source, out)));
        }
        // With synchronous_commit off, the last commits may still be in memory: to disk before anything counts it as restored.
        String note = settings.flush(tools.connection().withDbname(db));
        if (note != null) {
            notes.add(note);
        }
    }
}
