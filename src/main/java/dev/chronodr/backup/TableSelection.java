package dev.chronodr.backup;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.repo.BackupManifest.TableEntry;

/**
 * Tables as the catalog knows them. Names from the command line are matched exactly
 * (case, spaces and quotes kept) before anything starts, so a typo is a usage error,
 * not an empty backup.
 */
final class TableSelection {
    private TableSelection() {
    }

    static List<TableEntry> all(Connection c) throws SQLException {
        return dev.chronodr.pg.UserTables.list(c).stream().map(t -> new TableEntry(t.schema(), t.name(), null))
                .collect(java.util.stream.Collectors.toCollection(ArrayList::new));
    }

    /**
     * Each name as "table", "schema.table" or with quoted parts ("my schema"."t 1"), matched
     * exactly as typed; unknown or ambiguous names are usage errors.
     */
    static List<TableEntry> resolve(Connection c, List<String> names) throws SQLException {
        List<TableEntry> all = all(c);
        List<TableEntry> chosen = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        for (String name : names) {
            List<TableEntry> exact = all.stream().filter(t -> t.name().equals(name)).toList();
            if (exact.isEmpty() && name.contains(".")) {
                String schema = name.substring(0, name.indexOf('.'));
                String table = name.substring(name.indexOf('.') + 1);
                exact = all.stream().filter(t -> t.schema().equals(schema) && t.name().equals(table)).toList();
            }
            String[] parsed = exact.isEmpty() ? Identifiers.parseQualified(name) : null;
            if (parsed != null) {
                exact = all.stream().filter(t -> (parsed[0] == null || t.schema().equals(parsed[0])) && t.name().equals(parsed[1])).toList();
            }
            if (exact.isEmpty()) {
                unknown.add(name);
            } else if (exact.size() > 1) {
                throw ChronoException.usage("table name '" + name + "' is ambiguous: "
                        + String.join(", ", exact.stream().map(TableEntry::qualifiedName).toList()), "qualify it as schema.table");
            } else if (!chosen.contains(exact.get(0))) {
                chosen.add(exact.get(0));
            }
        }
        if (!unknown.isEmpty()) {
            throw ChronoException.usage("no such table: " + String.join(", ", unknown),
                    "names are matched exactly (case-sensitive); qualify as schema.table if needed");
        }
        return chosen;
    }

    /** Refuses before anything starts when the role cannot read every table it would dump. */
    static void requireReadable(Connection c, List<TableEntry> tables, String role) throws SQLException {
        List<String> unreadable = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT has_table_privilege(format('%I.%I', ?, ?), 'SELECT')")) {
            for (TableEntry t : tables) {
                ps.setString(1, t.schema());
                ps.setString(2, t.name());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        unreadable.add(t.qualifiedName());
                    }
                }
            }
        }
        if (!unreadable.isEmpty()) {
            throw ChronoException.failed("role " + role + " cannot read " + String.join(", ", unreadable) + "; nothing was backed up",
                    "connect as the tables' owner, or GRANT SELECT on them (or pg_read_all_data on PostgreSQL 14+) to " + role);
        }
    }
}
