package dev.chronodr.wal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;

/**
 * {@code pitr setup --streaming}: what wal-receive needs on the server. wal_level replica,
 * room for its WAL sender and slot, and max_slot_wal_keep_size so that a dead receiver's
 * slot can never fill the server's disk (past it the slot loses WAL: a gap the monitor
 * reports, better than a full disk). The pg_hba.conf line for the replication role is
 * printed, never written; synchronous_standby_names only when asked for.
 */
final class StreamingSetup {
    private static final String SETTINGS = """
            SELECT name, setting, context, pending_restart FROM pg_settings
             WHERE name IN ('wal_level', 'max_wal_senders', 'max_replication_slots', 'max_slot_wal_keep_size', 'synchronous_standby_names')
            """;
    private static final String ROLE = """
            SELECT current_user, rolreplication OR rolsuper, host(inet_client_addr()), family(inet_client_addr())
              FROM pg_roles WHERE rolname = current_user
            """;
    /** Senders and slots wal-receive, pg_basebackup -X stream and a standby or two may use at once. */
    private static final int MIN_SENDERS = 10;

    private StreamingSetup() {
    }

    private record Current(String value, String context, boolean pendingRestart) {
    }

    static PitrSetupResult setup(ConnectionSettings conn, PitrSetupRequest req) {
        if (req.slotKeepMb() < 1) {
            throw ChronoException.usage("--max-slot-wal-keep must be at least 1 MB", "e.g. 4096 (4 GB): what the server's disk can spare");
        }
        try (Connection c = Database.connect(conn)) {
            Map<String, Current> now = read(c);
            Map<String, String> wanted = new LinkedHashMap<>();
            String level = now.get("wal_level").value();
            wanted.put("wal_level", "minimal".equals(level) ? "replica" : level);
            wanted.put("max_wal_senders", String.valueOf(Math.max(MIN_SENDERS, Integer.parseInt(now.get("max_wal_senders").value()))));
            wanted.put("max_replication_slots", String.valueOf(Math.max(MIN_SENDERS, Integer.parseInt(now.get("max_replication_slots").value()))));
            long keep = Long.parseLong(now.get("max_slot_wal_keep_size").value());
            wanted.put("max_slot_wal_keep_size", (keep < 0 ? req.slotKeepMb() : keep) + "MB");
            if (req.synchronousStandby() != null) {
                wanted.put("synchronous_standby_names", "\"" + req.synchronousStandby().replace("\"", "") + "\"");
            }
            List<String> notes = new ArrayList<>();
            if (req.apply()) {
                for (var e : wanted.entrySet()) {
                    if (!same(e.getKey(), now.get(e.getKey()).value(), e.getValue())) {
                        PitrSetupService.alterSystem(c, e.getKey(), e.getValue());
                    }
                }
                try (Statement st = c.createStatement()) {
                    st.execute("SELECT pg_reload_conf()");
                }
                PitrSetupService.sleep(500);
                notes.add("ALTER SYSTEM wrote postgresql.auto.conf; it overrides postgresql.conf");
            }
            Map<String, Current> after = req.apply() ? read(c) : now;
            List<PitrSetupResult.Setting> out = new ArrayList<>();
            boolean restart = false;
            for (var e : wanted.entrySet()) {
                Current before = now.get(e.getKey());
                boolean change = !same(e.getKey(), before.value(), e.getValue());
                boolean needsRestart = change && "postmaster".equals(before.context());
                boolean pending = req.apply() && after.get(e.getKey()).pendingRestart();
                restart |= req.apply() ? pending : needsRestart;
                String shown = e.getKey().equals("max_slot_wal_keep_size") ? before.value() + (keep < 0 ? "" : "MB") : before.value();
                out.add(new PitrSetupResult.Setting(e.getKey(), shown, e.getValue(), change, needsRestart, pending));
            }
            notes.addAll(roleNotes(c));
            if (req.synchronousStandby() != null) {
                notes.add("synchronous_standby_names makes every commit wait for wal-receive --synchronous --application-name "
                        + req.synchronousStandby() + ": while it is down, commits hang; remove it (ALTER SYSTEM RESET "
                        + "synchronous_standby_names) before stopping the receiver for long");
            }
            notes.add("backup --type physical still needs archive_mode on (with wal-push, or any archive_command): see docs/pitr.md");
            return new PitrSetupResult(null, req.rpoMinutes(), req.apply(), out, restart, null, null, notes);
        } catch (SQLException e) {
            throw ChronoException.failed("pitr setup --streaming: " + e.getMessage(),
                    e.getMessage() != null && e.getMessage().contains("permission") ? "ALTER SYSTEM needs a superuser" : null, e);
        }
    }

    /** The pg_hba.conf line for this role from where it connected (printed, not written), and a missing REPLICATION attribute. */
    private static List<String> roleNotes(Connection c) throws SQLException {
        List<String> notes = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(ROLE)) {
            rs.next();
            String role = rs.getString(1);
            String addr = rs.getString(3);
            String mask = rs.getInt(4) == 6 ? "/128" : "/32";
            if (!rs.getBoolean(2)) {
                notes.add("role " + role + " cannot replicate: ALTER ROLE " + role + " REPLICATION (or run wal-receive as a role that can)");
            }
            notes.add("pg_hba.conf needs (not written by chrono-dr; reload after adding it): host  replication  " + role + "  "
                    + (addr == null ? "ADDRESS_OF_THE_RECEIVER/32" : addr + mask) + "  scram-sha-256");
        }
        return notes;
    }

    private static boolean same(String name, String current, String wanted) {
        if (name.equals("max_slot_wal_keep_size")) {
            return (current + "MB").equals(wanted);
        }
        if (name.equals("synchronous_standby_names")) {
            return wanted.equals(current) || wanted.equals("\"" + current + "\"");
        }
        return wanted.equals(current);
    }

    private static Map<String, Current> read(Connection c) throws SQLException {
        Map<String, Current> m = new LinkedHashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(SETTINGS)) {
            while (rs.next()) {
                m.put(rs.getString(1), new Current(rs.getString(2), rs.getString(3), rs.getBoolean(4)));
            }
        }
        if (!m.containsKey("max_slot_wal_keep_size")) {
            throw ChronoException.failed("this server has no max_slot_wal_keep_size (PostgreSQL 13 or newer has)",
                    "without it a dead receiver's slot can fill the server's disk: upgrade, or archive with wal-push instead");
        }
        return m;
    }
}
