package dev.chronodr.maintenance;

import java.util.ArrayList;
import java.util.List;

/**
 * Everything decided before anything is changed: the tables in order with their
 * statements, the database-wide statements, what needs confirming and why.
 *
 * @param dangers  what the user is told before confirming VACUUM FULL or a blocking REINDEX
 * @param jobsNote why fewer jobs run than asked for; null when as asked
 */
public record VacuumPlan(String database, String serverVersion, int serverVersionNum, VacuumRequest request,
                         int tablesConsidered, List<PlannedTable> tables, List<Step> databaseSteps,
                         List<IndexNote> indexNotes, List<FreeSpace> freeSpace, RepackOffer repack,
                         List<String> dangers, List<String> warnings, int jobs, String jobsNote) {

    public VacuumPlan {
        tables = List.copyOf(tables);
        databaseSteps = List.copyOf(databaseSteps);
        indexNotes = List.copyOf(indexNotes);
        freeSpace = List.copyOf(freeSpace);
        dangers = List.copyOf(dangers);
        warnings = List.copyOf(warnings);
    }

    /** VACUUM FULL and blocking REINDEX lock the application out; they need a typed YES or --yes. */
    public boolean needsConfirmation() {
        return (request.full() || request.blocking()) && !(tables.isEmpty() && databaseSteps.isEmpty());
    }

    /** Completes "This will ...". */
    public String confirmationAction() {
        List<String> parts = new ArrayList<>();
        if (request.full()) {
            parts.add("run VACUUM FULL on " + count(tables.size(), "table") + " of database " + database
                    + " (each locked against all reads and writes for its whole rewrite)");
        }
        if (request.blocking()) {
            parts.add(databaseSteps.isEmpty()
                    ? "run a blocking REINDEX TABLE on " + count(tables.size(), "table") + " (writes to each wait until it is done)"
                    : "run REINDEX DATABASE on " + database + " (writes to each table wait until its indexes are rebuilt)");
        }
        return String.join(" and ", parts);
    }

    static String count(int n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
