package dev.chronodr.restore;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.PgTools;

/**
 * Session settings for pg_restore's own connections to the database it fills, which nobody else
 * uses until the swap. They travel in {@code PGOPTIONS}, so they exist only in those sessions:
 * nothing is written to the server's, the database's or the role's configuration, and every
 * other session keeps the server's defaults.
 * <ul>
 *   <li>{@code synchronous_commit=off}: a commit does not wait for its WAL to reach disk.
 *       {@link #flush} then forces that WAL to disk before the restore counts as done.</li>
 *   <li>{@code maintenance_work_mem}: index builds sort in memory, and foreign keys are checked
 *       with it (PostgreSQL runs the check of {@code ADD FOREIGN KEY} with work_mem set to it).
 *       Raised to min(1 GiB, effective_cache_size / 4 / jobs), never lowered.</li>
 *   <li>{@code max_parallel_maintenance_workers}: at least 2 (bounded by max_parallel_workers);
 *       PostgreSQL only uses them when maintenance_work_mem gives each 32 MB.</li>
 *   <li>{@code wal_compression=lz4} (superuser or GRANT SET ON PARAMETER): less WAL for the
 *       whole pages that index builds write.</li>
 * </ul>
 * Each one is tried with {@code SET LOCAL} in a rolled-back transaction first; a setting the
 * role may not set is left out with a note, and the restore goes on.
 */
final class RestoreSettings {
    private static final Logger log = LoggerFactory.getLogger(RestoreSettings.class);
    static final long MAX_MAINTENANCE_WORK_MEM = 1024L * 1024 * 1024;
    private static final String FLUSH_TABLE = "chrono_dr_wal_flush";

    private final Map<String, String> raised;
    private final List<String> notes;

    RestoreSettings(Map<String, String> raised, List<String> notes) {
        this.raised = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(raised));
        this.notes = List.copyOf(notes);
    }

    static RestoreSettings none() {
        return new RestoreSettings(Map.of(), List.of());
    }

    static RestoreSettings none(String why) {
        return new RestoreSettings(Map.of(), List.of("restore sessions run with the server's settings: " + why));
    }

    Map<String, String> raised() {
        return raised;
    }

    List<String> notes() {
        return notes;
    }

    /** The environment for pg_restore: PGOPTIONS with one {@code -c name=value} per setting, or nothing. */
    Map<String, String> env() {
        if (raised.isEmpty()) {
            return Map.of();
        }
        return Map.of("PGOPTIONS", raised.entrySet().stream().map(e -> "-c " + e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(" ")));
    }

    /** The settings for this restore: pg_restore run here only (PGOPTIONS is not passed into a container). */
    static RestoreSettings forRestore(Connection admin, RestoreSource source, PgTools tools, int jobs) throws SQLException {
        if (source.format() == ArchiveFormat.PLAIN) {
            return none();
        }
        if (tools.exec().mode() != ExecMode.LOCAL) {
            return none("--exec " + tools.exec().mode().name().toLowerCase(java.util.Locale.ROOT)
                    + " passes no PGOPTIONS into the container");
        }
        return probe(admin, jobs);
    }

    /**
     * Decides the settings for {@code jobs} sessions of the connected role, from the server's
     * settings read on {@code admin}; each is tried there with SET LOCAL and rolled back.
     */
    static RestoreSettings probe(Connection admin, int jobs) throws SQLException {
        Map<String, String> current = new LinkedHashMap<>();
        try (Statement st = admin.createStatement();
             ResultSet rs = st.executeQuery("""
                     SELECT name, setting, enumvals FROM pg_settings
                     WHERE name IN ('synchronous_commit', 'maintenance_work_mem', 'max_parallel_maintenance_workers',
                                    'max_parallel_workers', 'wal_compression')
                     UNION ALL SELECT 'maintenance_work_mem_bytes', pg_size_bytes(current_setting('maintenance_work_mem'))::text, NULL
                     UNION ALL SELECT 'effective_cache_size_bytes', pg_size_bytes(current_setting('effective_cache_size'))::text, NULL
                     """)) {
            while (rs.next()) {
                current.put(rs.getString(1), rs.getString(2));
                if ("wal_compression".equals(rs.getString(1)) && rs.getArray(3) != null) {
                    current.put("wal_compression_values", String.join(",", (String[]) rs.getArray(3).getArray()));
                }
            }
        }
        Map<String, String> wanted = new LinkedHashMap<>();
        if (!"off".equals(current.get("synchronous_commit"))) {
            wanted.put("synchronous_commit", "off");
        }
        long mwm = Long.parseLong(current.get("maintenance_work_mem_bytes"));
        long budget = maintenanceWorkMem(Long.parseLong(current.get("effective_cache_size_bytes")), jobs);
        if (budget > mwm) {
            wanted.put("maintenance_work_mem", budget / (1024 * 1024) + "MB");
        }
        int workers = Integer.parseInt(current.get("max_parallel_maintenance_workers"));
        int workersWanted = Math.min(2, Integer.parseInt(current.get("max_parallel_workers")));
        if (workersWanted > workers) {
            wanted.put("max_parallel_maintenance_workers", String.valueOf(workersWanted));
        }
        if ("off".equals(current.get("wal_compression")) && current.getOrDefault("wal_compression_values", "").contains("lz4")) {
            wanted.put("wal_compression", "lz4");
        }

        Map<String, String> raised = new LinkedHashMap<>();
        List<String> refused = new ArrayList<>();
        boolean autoCommit = admin.getAutoCommit();
        admin.setAutoCommit(false);
        try (Statement st = admin.createStatement()) {
            for (Map.Entry<String, String> w : wanted.entrySet()) {
                Savepoint sp = admin.setSavepoint();
                try {
                    st.execute("SET LOCAL " + w.getKey() + " = '" + w.getValue() + "'");
                    raised.put(w.getKey(), w.getValue());
                } catch (SQLException e) {
                    admin.rollback(sp);
                    refused.add(w.getKey() + " (" + firstLine(e.getMessage()) + "; it needs superuser or GRANT SET ON PARAMETER "
                            + w.getKey() + ")");
                }
            }
        } finally {
            admin.rollback();
            admin.setAutoCommit(autoCommit);
        }
        List<String> notes = new ArrayList<>();
        if (!raised.isEmpty()) {
            notes.add("restore sessions only: " + raised.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.joining(", ")) + (raised.containsKey("maintenance_work_mem")
                    ? " (server default maintenance_work_mem " + mwm / (1024 * 1024) + "MB)" : ""));
        }
        refused.forEach(r -> notes.add("not raised: " + r));
        return new RestoreSettings(raised, notes);
    }

    /** min(1 GiB, a quarter of effective_cache_size shared by the jobs); each job may build an index at once. */
    static long maintenanceWorkMem(long effectiveCacheSize, int jobs) {
        long share = effectiveCacheSize / 4 / Math.max(1, jobs);
        return Math.min(MAX_MAINTENANCE_WORK_MEM, share / (1024 * 1024) * (1024 * 1024));
    }

    boolean asyncCommit() {
        return "off".equals(raised.get("synchronous_commit"));
    }

    /**
     * After pg_restore's last commit: forces all WAL written so far to disk, so that a crash from
     * here on recovers the whole restored database. A commit with synchronous_commit on flushes
     * the WAL up to its own commit record, which comes after every commit of the restore; it must
     * write WAL to wait at all, hence a temporary table dropped at commit (any role with TEMP on the
     * new database, which has template0's default ACL at this point). Returns a note when the
     * flush could not run.
     */
    String flush(ConnectionSettings db) {
        if (!asyncCommit()) {
            return null;
        }
        try (Connection c = Database.connect(db)) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL synchronous_commit = on");
                st.execute("CREATE TEMPORARY TABLE " + FLUSH_TABLE + " () ON COMMIT DROP");
            }
            c.commit();
            return null;
        } catch (SQLException e) {
            log.warn("could not force the restore's WAL to disk: {}", e.getMessage());
            return "could not force the restore's WAL to disk (" + firstLine(e.getMessage()) + "); the WAL writer writes it within "
                    + "3 x wal_writer_delay (600 ms by default): a server crash in that window could lose the restore's last steps";
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
