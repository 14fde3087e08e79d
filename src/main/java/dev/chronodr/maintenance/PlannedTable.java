package dev.chronodr.maintenance;

import java.util.List;

/** A selected table: why it was chosen and the statements that will run on it, in order. */
public record PlannedTable(TableStats table, List<String> reasons, List<Step> steps) {
    public PlannedTable {
        reasons = List.copyOf(reasons);
        steps = List.copyOf(steps);
    }
}
