package dev.chronodr.monitor;

import dev.chronodr.core.Status;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Unit;

/**
 * Where a measured value turns WARNING and CRITICAL. Most values are worse when higher;
 * the cache hit ratio is worse when lower. A null level is switched off.
 */
public record Threshold(String name, Unit unit, boolean lowerIsWorse, Double warning, Double critical, String meaning) {

    /** A level where higher values are worse. */
    public static Threshold higher(String name, Unit unit, Double warning, Double critical, String meaning) {
        return new Threshold(name, unit, false, warning, critical, meaning);
    }

    /** A level where lower values are worse (a hit ratio). */
    public static Threshold lower(String name, Unit unit, Double warning, Double critical, String meaning) {
        return new Threshold(name, unit, true, warning, critical, meaning);
    }

    /** A summary value judged against a threshold (its levels go into perfdata). */
    public static Metric judged(String name, double value, Threshold t, String help) {
        return new Metric(name, value, t.unit(), java.util.Map.of(), t.warning(), t.critical(), help, t.lowerIsWorse());
    }

    public Status status(double value) {
        if (critical != null && beyond(value, critical)) {
            return Status.CRITICAL;
        }
        if (warning != null && beyond(value, warning)) {
            return Status.WARNING;
        }
        return Status.OK;
    }

    private boolean beyond(double value, double level) {
        return lowerIsWorse ? value < level : value >= level;
    }

    /** The level the value passed, for messages: "over 5m00s", "under 95%". */
    public String describe(Status s) {
        Double level = s == Status.CRITICAL ? critical : warning;
        if (level == null) {
            return "";
        }
        return (lowerIsWorse ? "under " : "over ") + unit.format(level);
    }

    Threshold with(Double newWarning, Double newCritical) {
        return new Threshold(name, unit, lowerIsWorse, newWarning, newCritical, meaning);
    }
}
