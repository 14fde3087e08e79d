package dev.chronodr.maintenance;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Identifiers;

/**
 * Turns the catalog snapshot and the request into a plan: which tables, why, in which
 * order, and the exact statements. No database access here, so every rule is testable
 * on its own.
 */
final class VacuumPlanner {
    private VacuumPlanner() {
    }

    /**
     * The tables named with --tables, as stored in the catalog (case-sensitive, no quoting):
     * {@code schema.table}, or a bare name that must exist in exactly one schema. A
     * partitioned table stands for its leaf partitions. Unknown names are a usage error that
     * names every one of them.
     */
    static List<TableStats> resolve(List<String> names, TableCatalog.Snapshot snapshot, String database) {
        Map<Long, TableStats> byOid = new LinkedHashMap<>();
        for (TableStats t : snapshot.tables()) {
            byOid.put(t.oid(), t);
        }
        Map<Long, TableStats> chosen = new LinkedHashMap<>();
        List<String> unknown = new ArrayList<>();
        for (String name : names) {
            List<TableStats> found = lookup(name, snapshot, byOid);
            if (found == null) {
                unknown.add(name);
            } else {
                found.forEach(t -> chosen.putIfAbsent(t.oid(), t));
            }
        }
        if (!unknown.isEmpty()) {
            throw ChronoException.usage((unknown.size() == 1 ? "unknown table " : "unknown tables ")
                            + String.join(", ", unknown.stream().map(n -> "'" + n + "'").toList()) + " in database " + database,
                    "names are as stored in the catalog (case-sensitive, no quotes); qualify them as schema.table; "
                            + "psql's \\dt lists them");
        }
        return List.copyOf(chosen.values());
    }

    /** The tables one name stands for; null when it names none. */
    private static List<TableStats> lookup(String name, TableCatalog.Snapshot snapshot, Map<Long, TableStats> byOid) {
        int dot = name.indexOf('.');
        if (dot > 0 && dot < name.length() - 1) {
            String schema = name.substring(0, dot);
            String rel = name.substring(dot + 1);
            List<TableStats> found = matching(snapshot, byOid, schema, rel);
            if (!found.isEmpty()) {
                return found;
            }
        }
        List<TableStats> direct = snapshot.tables().stream().filter(t -> t.name().equals(name)).toList();
        List<TableCatalog.Partitioned> parents = snapshot.partitioned().stream().filter(p -> p.name().equals(name)).toList();
        Set<String> schemas = new java.util.TreeSet<>();
        direct.forEach(t -> schemas.add(t.schema()));
        parents.forEach(p -> schemas.add(p.schema()));
        if (schemas.size() > 1) {
            throw ChronoException.usage("table '" + name + "' exists in several schemas: " + String.join(", ", schemas),
                    "qualify it as schema.table");
        }
        if (schemas.isEmpty()) {
            return null;
        }
        return matching(snapshot, byOid, schemas.iterator().next(), name);
    }

    private static List<TableStats> matching(TableCatalog.Snapshot snapshot, Map<Long, TableStats> byOid, String schema, String rel) {
        List<TableStats> out = new ArrayList<>();
        snapshot.tables().stream().filter(t -> t.schema().equals(schema) && t.name().equals(rel)).forEach(out::add);
        snapshot.partitioned().stream().filter(p -> p.schema().equals(schema) && p.name().equals(rel))
                .flatMap(p -> p.leafOids().stream()).map(byOid::get).filter(t -> t != null).forEach(out::add);
        return out;
    }

    /** The tables that qualify, most-needed first, each with its reasons and statements. */
    static List<PlannedTable> select(List<TableStats> candidates, VacuumRequest r, boolean named) {
        List<PlannedTable> out = new ArrayList<>();
        for (TableStats t : candidates) {
            List<String> reasons = reasons(t, r, named);
            if (!reasons.isEmpty()) {
                out.add(new PlannedTable(t, reasons, steps(t, r)));
            }
        }
        out.sort(mostNeededFirst(r));
        return out;
    }

    static List<String> reasons(TableStats t, VacuumRequest r, boolean named) {
        List<String> reasons = new ArrayList<>();
        if (!r.hasThresholds()) {
            reasons.add(named ? "named with --tables" : "all tables");
            return reasons;
        }
        if (overXidAge(t, r)) {
            reasons.add("transaction ID age " + t.xidAge() + " >= " + r.minXidAge());
        }
        if (r.minDeadPercent() != null && t.deadTuples() > 0 && t.deadPercent() >= r.minDeadPercent()) {
            reasons.add(String.format(Locale.ROOT, "dead tuples %.1f%% (%d of %d) >= %s%%", t.deadPercent(),
                    t.deadTuples(), t.liveTuples() + t.deadTuples(), number(r.minDeadPercent())));
        }
        return reasons;
    }

    private static boolean overXidAge(TableStats t, VacuumRequest r) {
        return r.minXidAge() != null && t.xidAge() >= r.minXidAge();
    }

    /**
     * Transaction-ID age over the limit comes first (wraparound stops the database), oldest
     * first; then the most dead tuples (the most to reclaim), then the highest dead share.
     */
    static Comparator<PlannedTable> mostNeededFirst(VacuumRequest r) {
        return Comparator.<PlannedTable>comparingInt(p -> overXidAge(p.table(), r) ? 0 : 1)
                .thenComparing(p -> overXidAge(p.table(), r) ? -p.table().xidAge() : 0L)
                .thenComparing(p -> -p.table().deadTuples())
                .thenComparing(p -> -p.table().deadPercent())
                .thenComparing(p -> p.table().qualified());
    }

    static String vacuumSql(TableStats t, VacuumRequest r) {
        String options = r.full() ? (r.analyze() ? "(FULL, ANALYZE) " : "(FULL) ") : (r.analyze() ? "(ANALYZE) " : "");
        return "VACUUM " + options + t.sql();
    }

    /**
     * VACUUM first; then, with --reindex, leftovers of a failed REINDEX CONCURRENTLY are
     * dropped and every other index is rebuilt one at a time, concurrently (or the table
     * reindexed in one blocking statement with --blocking when only some tables are in scope).
     */
    static List<Step> steps(TableStats t, VacuumRequest r) {
        List<Step> steps = new ArrayList<>();
        steps.add(new Step(r.full() ? Step.Kind.VACUUM_FULL : Step.Kind.VACUUM, t.qualified(), vacuumSql(t, r)));
        if (!r.reindex()) {
            return steps;
        }
        boolean building = t.indexes().stream().anyMatch(IndexInfo::building);
        if (building) {
            return steps;
        }
        for (IndexInfo i : t.indexes()) {
            if (i.leftover()) {
                steps.add(new Step(Step.Kind.DROP_LEFTOVER_INDEX, i.qualified(), "DROP INDEX CONCURRENTLY IF EXISTS " + i.sql()));
            }
        }
        if (!r.blocking()) {
            for (IndexInfo i : t.indexes()) {
                if (!i.leftover() && !i.exclusion()) {
                    steps.add(new Step(Step.Kind.REINDEX_INDEX_CONCURRENTLY, i.qualified(), "REINDEX INDEX CONCURRENTLY " + i.sql()));
                }
            }
        } else if (!r.wholeDatabase()) {
            steps.add(new Step(Step.Kind.REINDEX_TABLE, t.qualified(), "REINDEX TABLE " + t.sql()));
        }
        return steps;
    }

    /** REINDEX DATABASE only with --reindex --blocking and the whole database in scope. */
    static List<Step> databaseSteps(VacuumRequest r, String database) {
        if (r.reindex() && r.blocking() && r.wholeDatabase()) {
            return List.of(new Step(Step.Kind.REINDEX_DATABASE, database, "REINDEX DATABASE " + Identifiers.quote(database)));
        }
        return List.of();
    }

    /** Every index in the database that needs attention, and what this run does about it. */
    static List<IndexNote> indexNotes(List<TableStats> all, Set<Long> selected, VacuumRequest r) {
        List<IndexNote> notes = new ArrayList<>();
        for (TableStats t : all) {
            boolean inScope = selected.contains(t.oid()) && r.reindex();
            boolean building = t.indexes().stream().anyMatch(IndexInfo::building);
            String later = "chrono-dr vacuum --reindex --tables " + t.qualified();
            for (IndexInfo i : t.indexes()) {
                if (building && (inScope || !i.valid())) {
                    notes.add(new IndexNote(i.qualified(), t.qualified(),
                            (i.valid() ? "" : "invalid; ") + "an index build is running on this table right now",
                            "left alone by this run"));
                } else if (i.leftover()) {
                    notes.add(new IndexNote(i.qualified(), t.qualified(),
                            "invalid leftover of a failed REINDEX CONCURRENTLY of " + i.leftoverOf(),
                            inScope ? "dropped by this run (DROP INDEX CONCURRENTLY)" : "drop it with: " + later));
                } else if (!i.valid()) {
                    notes.add(new IndexNote(i.qualified(), t.qualified(),
                            "invalid (a failed CREATE INDEX CONCURRENTLY?): queries do not use it, writes still maintain it",
                            !inScope ? "rebuild it with: " + later
                                    : r.blocking() ? "rebuilt by this run (blocking REINDEX)"
                                    : i.exclusion() ? "not rebuilt: backs an exclusion constraint; use --reindex --blocking"
                                    : "rebuilt by this run (REINDEX INDEX CONCURRENTLY)"));
                } else if (i.exclusion() && inScope && !r.blocking()) {
                    notes.add(new IndexNote(i.qualified(), t.qualified(),
                            "backs an exclusion constraint: PostgreSQL cannot rebuild it concurrently",
                            "not rebuilt; use --reindex --blocking"));
                }
            }
        }
        return notes;
    }

    static String number(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }
}
