package dev.chronodr.maintenance;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.Progress;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;

/**
 * Polls the server's progress views on a connection of its own and draws one line: each
 * worker's table, phase and share done, or that it waits for a lock. Runs only when
 * progress is shown (stderr is a terminal); otherwise it costs nothing, not even a connection.
 */
final class ProgressMonitor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProgressMonitor.class);
    private static final long POLL_MILLIS = 250;

    /** The three progress views exist, with these columns, from PostgreSQL 12 through 17. */
    private static final String QUERY = """
            SELECT a.pid, a.wait_event_type, a.wait_event,
                   v.phase, v.heap_blks_total, v.heap_blks_scanned, v.heap_blks_vacuumed,
                   ci.phase, ci.blocks_total, ci.blocks_done, ci.lockers_total, ci.lockers_done,
                   cl.phase, cl.heap_blks_total, cl.heap_blks_scanned
            FROM pg_stat_activity a
            LEFT JOIN pg_stat_progress_vacuum v ON v.pid = a.pid
            LEFT JOIN pg_stat_progress_create_index ci ON ci.pid = a.pid
            LEFT JOIN pg_stat_progress_cluster cl ON cl.pid = a.pid
            WHERE a.pid = ANY (?)
            """;

    private final Progress progress;
    private final Connection connection;
    private final ActiveWork work;
    private final Thread thread;
    private volatile boolean stopped;

    private ProgressMonitor(Progress progress, Connection connection, ActiveWork work) {
        this.progress = progress;
        this.connection = connection;
        this.work = work;
        this.thread = connection == null ? null : new Thread(this::loop, "chrono-dr-vacuum-progress");
    }

    static ProgressMonitor start(Progress progress, ConnectionSettings settings, String sessionSetup, ActiveWork work) {
        if (progress == Progress.NONE) {
            return new ProgressMonitor(progress, null, work);
        }
        Connection c;
        try {
            c = Database.connect(settings);
            c.setAutoCommit(true);
            try (var st = c.createStatement()) {
                st.execute(sessionSetup);
            }
        } catch (RuntimeException | SQLException e) {
            // Progress is a courtesy: without its connection the work goes on, silently.
            LOG.debug("no progress display: {}", e.getMessage());
            return new ProgressMonitor(progress, null, work);
        }
        ProgressMonitor m = new ProgressMonitor(progress, c, work);
        m.thread.setDaemon(true);
        m.thread.start();
        return m;
    }

    private void loop() {
        while (!stopped) {
            try {
                progress.update(line(poll()));
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                return;
            } catch (SQLException | RuntimeException e) {
                if (!stopped) {
                    LOG.debug("progress poll failed: {}", e.getMessage());
                }
                return;
            }
        }
    }

    private List<String> poll() throws SQLException {
        Map<Integer, String> labels = work.labels();
        List<String> parts = new ArrayList<>();
        if (labels.isEmpty()) {
            return parts;
        }
        Array pids = connection.createArrayOf("int4", labels.keySet().toArray());
        try (PreparedStatement ps = connection.prepareStatement(QUERY)) {
            ps.setArray(1, pids);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String label = labels.get(rs.getInt(1));
                    if (label != null) {
                        parts.add(label + ": " + state(rs));
                    }
                }
            }
        }
        return parts;
    }

    static String state(ResultSet rs) throws SQLException {
        if ("Lock".equals(rs.getString(2))) {
            return "waiting for lock (" + rs.getString(3) + ")";
        }
        if (rs.getString(4) != null) {
            long total = rs.getLong(5);
            long done = rs.getString(4).contains("vacuuming heap") ? rs.getLong(7) : rs.getLong(6);
            return rs.getString(4) + percent(done, total);
        }
        if (rs.getString(8) != null) {
            String phase = rs.getString(8);
            if (rs.getLong(11) > 0 && phase.startsWith("waiting")) {
                return phase + " (" + rs.getLong(12) + "/" + rs.getLong(11) + ")";
            }
            return phase + percent(rs.getLong(10), rs.getLong(9));
        }
        if (rs.getString(13) != null) {
            return rs.getString(13) + percent(rs.getLong(15), rs.getLong(14));
        }
        return "running";
    }

    private static String percent(long done, long total) {
        return total > 0 ? String.format(Locale.ROOT, " %d%%", Math.min(100, 100 * done / total)) : "";
    }

    private String line(List<String> parts) {
        String head = "vacuum " + work.done() + "/" + work.total() + " tables done";
        return parts.isEmpty() ? head : head + " | " + String.join(" | ", parts);
    }

    @Override
    public void close() {
        stopped = true;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                connection.close();
            } catch (SQLException e) {
                LOG.debug("closing the progress connection: {}", e.getMessage());
            }
        }
        progress.done();
    }
}
