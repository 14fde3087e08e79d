package dev.chronodr.maintenance;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.zaxxer.hikari.HikariDataSource;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Progress;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.PgVersion;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.report.TextOutput;

/**
 * The runbook's "VACUUM FULL ANALYZE; REINDEX DATABASE" done so it cannot take the site
 * down: plain VACUUM by default, indexes rebuilt concurrently, every statement under a
 * lock_timeout so it gives up instead of queueing, tables that could not be done listed
 * with the reason while the run goes on with the others.
 */
public final class VacuumService {
    private static final Logger LOG = LoggerFactory.getLogger(VacuumService.class);
    /** Before PostgreSQL 15 the statistics collector reports a VACUUM a moment after it ends. */
    private static final long STATS_WAIT_MILLIS = 2000;

    /** Reads the catalog and decides; changes nothing. */
    public VacuumPlan plan(Target target, VacuumRequest r) {
        ConnectionSettings settings = target.connection();
        try (Connection c = Database.connect(settings)) {
            c.setAutoCommit(true);
            execute(c, r.sessionSetup());
            ServerInfo info = ServerInfo.probe(c);
            if (info.inRecovery()) {
                throw ChronoException.usage("the server at " + settings.describe() + " is a standby: VACUUM and REINDEX run on the primary only",
                        "connect to the primary");
            }
            if (info.version().major() < 12) {
                throw ChronoException.usage("PostgreSQL " + info.versionString() + " is too old: chrono-dr vacuum needs 12 or later "
                        + "(REINDEX CONCURRENTLY and the progress views)", null);
            }
            TableCatalog.Snapshot snapshot = TableCatalog.read(c);
            boolean named = !r.tables().isEmpty();
            List<TableStats> candidates = named ? VacuumPlanner.resolve(r.tables(), snapshot, info.database()) : snapshot.tables();
            List<PlannedTable> tables = VacuumPlanner.select(candidates, r, named);
            List<Step> databaseSteps = VacuumPlanner.databaseSteps(r, info.database());
            Set<Long> selected = new HashSet<>();
            tables.forEach(p -> selected.add(p.table().oid()));
            List<IndexNote> notes = VacuumPlanner.indexNotes(snapshot.tables(), selected, r);

            int[] jobs = jobs(c, info.version(), r.jobs(), Math.max(1, tables.size()));
            String jobsNote = jobs[0] == r.jobs() ? null
                    : jobs[1] > 0 ? "--jobs " + r.jobs() + " lowered to " + jobs[0] + ": " + jobs[1]
                            + " free connection slots on the server, and chrono-dr takes at most half of them"
                    : "--jobs " + r.jobs() + " lowered to " + jobs[0] + ": only " + VacuumPlan.count(tables.size(), "table");

            List<FreeSpace> free = new ArrayList<>();
            RepackOffer repack = null;
            List<String> dangers = new ArrayList<>();
            List<String> warnings = new ArrayList<>();
            if (r.full() && !tables.isEmpty()) {
                Set<String> spaces = new LinkedHashSet<>();
                tables.forEach(p -> spaces.add(p.table().tablespace() == null ? FreeSpaceProbe.DEFAULT_TABLESPACE : p.table().tablespace()));
                for (String spc : spaces) {
                    free.add(FreeSpaceProbe.probe(c, settings, spc));
                }
                String version = repackVersion(c);
                if (version != null) {
                    repack = RepackOffer.of(version, settings, tables.stream().map(PlannedTable::table).toList());
                }
                dangers.addAll(fullDangers(tables, free, repack, jobs[0]));
                if (!r.analyze()) {
                    warnings.add("VACUUM FULL leaves the dead-tuple statistics as they were; add --analyze to refresh them");
                }
            }
            if (r.blocking() && !(tables.isEmpty() && databaseSteps.isEmpty())) {
                dangers.add(databaseSteps.isEmpty()
                        ? "REINDEX TABLE (not concurrent) blocks writes to each table, and reads that use its indexes, while they are rebuilt"
                        : "REINDEX DATABASE (not concurrent) blocks writes to each table, and reads that use its indexes, while they are rebuilt"
                                + (info.version().major() < 16 ? "; on PostgreSQL " + info.version().major() + " it rebuilds the system catalogs' indexes too" : ""));
            }
            return new VacuumPlan(info.database(), info.version().toString(), info.version().num(), r, candidates.size(), tables,
                    databaseSteps, notes, free, repack, dangers, warnings, jobs[0], jobsNote);
        } catch (SQLException e) {
            throw ChronoException.failed("could not read the tables of " + settings.describe() + ": " + firstLine(e.getMessage()), null, e);
        }
    }

    /** The plan as a report, without touching anything. */
    public VacuumReport dryRun(VacuumPlan plan) {
        return VacuumReport.dryRun(plan);
    }

    /** Runs the plan: tables in parallel up to plan.jobs(), then any database-wide statement. */
    public VacuumReport run(Target target, VacuumPlan plan, Progress progress) {
        long t0 = System.nanoTime();
        if (plan.tables().isEmpty() && plan.databaseSteps().isEmpty()) {
            return VacuumReport.of(plan, List.of(), List.of(), millisSince(t0), false);
        }
        VacuumRequest r = plan.request();
        ActiveWork work = new ActiveWork(plan.tables().size());
        DiskBudget disk = new DiskBudget(plan.freeSpace());
        Thread cancel = new Thread(work::cancelAll, "chrono-dr-vacuum-cancel");
        Runtime.getRuntime().addShutdownHook(cancel);
        List<TableReport> tables = new ArrayList<>();
        List<StepResult> databaseSteps = new ArrayList<>();
        AtomicInteger threadNo = new AtomicInteger();
        ExecutorService workers = Executors.newFixedThreadPool(plan.jobs(), task -> {
            Thread t = new Thread(task, "chrono-dr-vacuum-" + threadNo.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try (HikariDataSource pool = Database.pool(target.connection(), plan.jobs(), "chrono-dr-vacuum");
             ProgressMonitor monitor = ProgressMonitor.start(progress, target.connection(), r.sessionSetup(), work)) {
            List<Future<TableReport>> futures = new ArrayList<>();
            for (PlannedTable p : plan.tables()) {
                futures.add(workers.submit(() -> runTable(pool, p, plan, work, disk)));
            }
            for (int i = 0; i < futures.size(); i++) {
                tables.add(result(futures.get(i), plan.tables().get(i)));
            }
            for (Step s : plan.databaseSteps()) {
                databaseSteps.add(runDatabaseStep(pool, s, r, work));
            }
        } finally {
            workers.shutdownNow();
            try {
                Runtime.getRuntime().removeShutdownHook(cancel);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down and the hook is running
            }
        }
        return VacuumReport.of(plan, tables, databaseSteps, millisSince(t0), false);
    }

    private static TableReport result(Future<TableReport> f, PlannedTable p) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return failedTable(p, "interrupted");
        } catch (ExecutionException e) {
            LOG.debug("vacuum of {} failed", p.table().qualified(), e.getCause());
            return failedTable(p, "unexpected error: " + e.getCause());
        }
    }

    private static TableReport failedTable(PlannedTable p, String message) {
        List<StepResult> steps = new ArrayList<>();
        for (Step s : p.steps()) {
            steps.add(steps.isEmpty()
                    ? new StepResult(s.kind(), s.target(), s.sql(), Outcome.FAILED, null, null, null, message)
                    : StepResult.notRun(s));
        }
        return TableReport.ran(p, steps, null, null, 0);
    }

    /** One table on one connection: its statements in order, stopping at the first that does not succeed. */
    private static TableReport runTable(DataSource pool, PlannedTable p, VacuumPlan plan, ActiveWork work, DiskBudget disk) {
        long t0 = System.nanoTime();
        VacuumRequest r = plan.request();
        TableStats table = p.table();
        List<StepResult> results = new ArrayList<>();
        Long deadAfter = null;
        Long xidAfter = null;
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(true);
            execute(c, r.sessionSetup());
            int pid = backendPid(c);
            boolean stop = false;
            boolean vacuumed = false;
            for (Step s : p.steps()) {
                if (stop) {
                    results.add(StepResult.notRun(s));
                    continue;
                }
                boolean full = s.kind() == Step.Kind.VACUUM_FULL;
                if (full) {
                    String noRoom = disk.claim(table);
                    if (noRoom != null) {
                        OffsetDateTime now = Clock.now();
                        results.add(new StepResult(s.kind(), s.target(), s.sql(), Outcome.SKIPPED, now, now, 0L, noRoom));
                        stop = true;
                        continue;
                    }
                }
                StepResult res;
                work.begin(pid, s.target() + " " + TableReport.statementHead(s.sql()));
                try {
                    res = runStep(c, s, table, r, work);
                } finally {
                    work.end(pid);
                    if (full) {
                        disk.release(table);
                    }
                }
                results.add(res);
                if (res.status() == Outcome.DONE) {
                    vacuumed |= s.kind() == Step.Kind.VACUUM || full;
                } else {
                    stop = true;
                    if (s.kind().concurrentIndexBuild()) {
                        results.addAll(dropNewLeftovers(c, s, table, r, work, pid));
                    }
                }
            }
            if (vacuumed) {
                TableCatalog.After after = statsAfter(c, table, r);
                if (after != null) {
                    boolean statsStale = r.full() && !r.analyze();
                    deadAfter = statsStale ? null : after.deadTuples();
                    xidAfter = after.xidAge();
                }
            }
        } catch (SQLException e) {
            // The connection itself failed (pool timeout, server gone): the rest of this table is not run.
            String message = "connection failed: " + firstLine(e.getMessage());
            LOG.debug("{}: {}", table.qualified(), message);
            boolean first = true;
            for (int i = results.size(); i < p.steps().size(); i++) {
                Step s = p.steps().get(i);
                results.add(first ? new StepResult(s.kind(), s.target(), s.sql(), Outcome.FAILED, null, null, null, message)
                        : StepResult.notRun(s));
                first = false;
            }
        } finally {
            work.tableDone();
        }
        return TableReport.ran(p, results, deadAfter, xidAfter, millisSince(t0));
    }

    private static StepResult runDatabaseStep(DataSource pool, Step s, VacuumRequest r, ActiveWork work) {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(true);
            execute(c, r.sessionSetup());
            int pid = backendPid(c);
            work.begin(pid, s.target() + " " + TableReport.statementHead(s.sql()));
            try {
                return runStep(c, s, null, r, work);
            } finally {
                work.end(pid);
            }
        } catch (SQLException e) {
            return new StepResult(s.kind(), s.target(), s.sql(), Outcome.FAILED, null, null, null,
                    "connection failed: " + firstLine(e.getMessage()));
        }
    }

    /** Runs one statement; a lock wait past lock_timeout, a missing privilege or a vanished table is a skip. */
    private static StepResult runStep(Connection c, Step s, TableStats table, VacuumRequest r, ActiveWork work) {
        OffsetDateTime started = Clock.now();
        long t0 = System.nanoTime();
        try (Statement st = c.createStatement()) {
            work.track(st);
            try {
                st.execute(s.sql());
            } finally {
                work.untrack(st);
                LOG.debug("{} took {} ms", s.sql(), millisSince(t0));
            }
            String warning = warnings(st.getWarnings());
            // VACUUM does not fail on a table the role may not vacuum: it warns "skipping" and does nothing.
            boolean skipped = warning != null && warning.contains("skipping");
            return new StepResult(s.kind(), s.target(), s.sql(), skipped ? Outcome.SKIPPED : Outcome.DONE, started,
                    Clock.now(), millisSince(t0), warning);
        } catch (SQLException e) {
            String state = e.getSQLState() == null ? "" : e.getSQLState();
            Outcome outcome;
            String message;
            switch (state) {
                case "55P03" -> {
                    outcome = Outcome.SKIPPED;
                    message = "lock not granted within " + TextOutput.duration(r.lockTimeout()) + " (lock_timeout)"
                            + blockers(c, table, s);
                }
                case "42501" -> {
                    outcome = Outcome.SKIPPED;
                    message = "no privilege: " + firstLine(e.getMessage());
                }
                case "42P01", "42704" -> {
                    outcome = Outcome.SKIPPED;
                    message = "no longer exists: " + firstLine(e.getMessage());
                }
                default -> {
                    outcome = Outcome.FAILED;
                    message = firstLine(e.getMessage());
                }
            }
            return new StepResult(s.kind(), s.target(), s.sql(), outcome, started, Clock.now(), millisSince(t0), message);
        }
    }

    /**
     * A REINDEX CONCURRENTLY that gave up leaves an invalid copy of the index (_ccnew, or the
     * old one as _ccold) that every write still maintains. Drop the ones this failure left,
     * concurrently and under the same lock_timeout; if even that cannot get its lock, say so.
     */
    private static List<StepResult> dropNewLeftovers(Connection c, Step failed, TableStats table, VacuumRequest r, ActiveWork work, int pid) {
        String index = failed.target().substring(failed.target().indexOf('.') + 1);
        Set<Long> known = new HashSet<>();
        table.indexes().forEach(i -> known.add(i.oid()));
        List<StepResult> out = new ArrayList<>();
        List<IndexInfo> leftovers = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT i.indexrelid, n.nspname, ic.relname, i.indisvalid
                FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
                WHERE i.indrelid = ?
                """)) {
            ps.setLong(1, table.oid());
            List<String> names = new ArrayList<>();
            List<IndexInfo> invalid = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    names.add(rs.getString(3));
                    if (!rs.getBoolean(4) && !known.contains(rs.getLong(1))) {
                        invalid.add(new IndexInfo(rs.getLong(1), rs.getString(2), rs.getString(3), false, false, false, null));
                    }
                }
            }
            for (IndexInfo i : invalid) {
                if (index.equals(TableCatalog.leftoverOf(i.name(), names))) {
                    leftovers.add(i);
                }
            }
        } catch (SQLException e) {
            LOG.debug("could not look for leftovers of {}: {}", failed.target(), e.getMessage());
            return out;
        }
        for (IndexInfo i : leftovers) {
            Step drop = new Step(Step.Kind.DROP_LEFTOVER_INDEX, i.qualified(), "DROP INDEX CONCURRENTLY IF EXISTS " + i.sql());
            work.begin(pid, drop.target() + " DROP INDEX CONCURRENTLY");
            StepResult res;
            try {
                res = runStep(c, drop, table, r, work);
            } finally {
                work.end(pid);
            }
            if (res.status() != Outcome.DONE) {
                res = new StepResult(res.kind(), res.target(), res.sql(), res.status(), res.startedAt(), res.finishedAt(),
                        res.durationMs(), res.message() + "; the invalid index " + i.qualified()
                        + " is left behind: drop it later with this statement, or run chrono-dr vacuum --reindex --tables "
                        + table.qualified() + " again");
            }
            out.add(res);
        }
        return out;
    }

    /** Who holds the lock we could not get, or which old transactions a concurrent index build waited for. */
    private static String blockers(Connection c, TableStats table, Step s) {
        List<String> who = new ArrayList<>();
        try {
            if (table != null) {
                try (PreparedStatement ps = c.prepareStatement("""
                        SELECT l.pid, l.mode, a.state, a.application_name,
                               extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::bigint
                        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                        WHERE l.locktype = 'relation' AND l.relation = ? AND l.granted AND l.pid <> pg_backend_pid()
                        ORDER BY a.xact_start NULLS LAST
                        LIMIT 3
                        """)) {
                    ps.setLong(1, table.oid());
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            who.add("pid " + rs.getInt(1) + " holds " + rs.getString(2) + session(rs));
                        }
                    }
                }
            }
            boolean indexBuild = s.kind() != Step.Kind.VACUUM && s.kind() != Step.Kind.VACUUM_FULL;
            if (who.isEmpty() && indexBuild) {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                        SELECT a.pid, NULL, a.state, a.application_name, extract(epoch FROM now() - a.xact_start)::bigint
                        FROM pg_stat_activity a
                        WHERE a.datname = current_database() AND a.xact_start IS NOT NULL
                          AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
                        ORDER BY a.xact_start
                        LIMIT 3
                        """)) {
                    while (rs.next()) {
                        who.add("older transaction pid " + rs.getInt(1) + session(rs));
                    }
                }
            }
        } catch (SQLException e) {
            return "";
        }
        return who.isEmpty() ? "" : ": " + String.join("; ", who);
    }

    private static String session(ResultSet rs) throws SQLException {
        String app = rs.getString(4);
        return " (" + rs.getString(3) + ", transaction open " + rs.getLong(5) + " s"
                + (app == null || app.isEmpty() ? "" : ", application " + app) + ")";
    }

    /** Statistics after the work. Before PostgreSQL 15 they arrive a moment late, so wait for the counter to move. */
    private static TableCatalog.After statsAfter(Connection c, TableStats table, VacuumRequest r) throws SQLException {
        long deadline = System.nanoTime() + STATS_WAIT_MILLIS * 1_000_000L;
        TableCatalog.After after = TableCatalog.after(c, table.oid());
        while (after != null && !counted(after, table, r) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            after = TableCatalog.after(c, table.oid());
        }
        return after;
    }

    /** VACUUM FULL does not count as a vacuum in the statistics; its ANALYZE does. */
    private static boolean counted(TableCatalog.After a, TableStats before, VacuumRequest r) {
        if (r.full()) {
            return !r.analyze() || a.analyzeCount() > before.analyzeCount();
        }
        return a.vacuumCount() > before.vacuumCount();
    }

    /**
     * Parallel jobs within a connection budget: at most half of the connection slots free on
     * the server (after the reserved ones, and one for the progress display), so the
     * application keeps the rest. Returns {jobs, free slots (0 when not the limit)}.
     */
    private static int[] jobs(Connection c, PgVersion v, int requested, int tables) throws SQLException {
        int wanted = Math.min(requested, tables);
        if (wanted <= 1) {
            return new int[] {1, 0};
        }
        String reserved = "current_setting('superuser_reserved_connections')::int"
                + (v.major() >= 16 ? " + current_setting('reserved_connections')::int" : "");
        String sql = "SELECT current_setting('max_connections')::int - " + reserved
                + " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int";
        int free;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            free = rs.getInt(1);
        }
        int budget = Math.max(1, (free - 1) / 2);
        return wanted > budget ? new int[] {budget, Math.max(free, 0)} : new int[] {wanted, 0};
    }

    private static String repackVersion(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT extversion FROM pg_extension WHERE extname = 'pg_repack'")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    private static List<String> fullDangers(List<PlannedTable> tables, List<FreeSpace> free, RepackOffer repack, int jobs) {
        List<String> out = new ArrayList<>();
        TableStats largest = tables.stream().map(PlannedTable::table)
                .max(java.util.Comparator.comparingLong(TableStats::totalBytes)).orElseThrow();
        long total = tables.stream().mapToLong(p -> p.table().totalBytes()).sum();
        long atOnce = tables.stream().map(p -> p.table().totalBytes()).sorted(java.util.Comparator.reverseOrder())
                .limit(jobs).mapToLong(Long::longValue).sum();
        out.add("VACUUM FULL takes an ACCESS EXCLUSIVE lock on each table for its whole rewrite: nothing can read or write "
                + "that table until it finishes (largest here: " + largest.qualified() + ", " + TextOutput.bytes(largest.totalBytes()) + ")");
        out.add("it writes a new copy of each table and its indexes before the old one is freed: needs "
                + TextOutput.bytes(atOnce) + " free disk space at once (" + TextOutput.bytes(total) + " to rewrite in all), plus WAL for the copies");
        for (FreeSpace f : free) {
            if (f.checked()) {
                boolean enough = f.freeBytes() >= largest.totalBytes();
                out.add("free space for tablespace " + f.tablespace() + " (" + f.path() + "): " + TextOutput.bytes(f.freeBytes())
                        + (enough ? ", enough for the largest table" : "; NOT enough for the largest table: tables that do not fit will be skipped")
                        + (f.note() == null ? "" : " (" + f.note() + ")"));
            } else {
                out.add("could not check free space for tablespace " + f.tablespace() + ": " + f.note());
            }
        }
        if (repack != null) {
            out.add("pg_repack " + repack.version() + " is installed in this database: it rewrites tables while holding the "
                    + "ACCESS EXCLUSIVE lock only briefly. To use it instead, run: " + repack.command());
        }
        return out;
    }

    private static String warnings(SQLWarning w) {
        List<String> out = new ArrayList<>();
        for (SQLWarning x = w; x != null; x = x.getNextWarning()) {
            out.add(firstLine(x.getMessage()));
        }
        return out.isEmpty() ? null : String.join("; ", out);
    }

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    private static int backendPid(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static long millisSince(long t0) {
        return (System.nanoTime() - t0) / 1_000_000L;
    }

    static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return (nl >= 0 ? s.substring(0, nl) : s).strip();
    }
}
