package dev.chronodr.report;

import java.util.Map;

/**
 * One measured number. Checks attach metrics to their results; Nagios perfdata takes the
 * unlabelled ones, Prometheus all of them (as chrono_dr_NAME with a unit suffix).
 *
 * @param labels   what the value is about (table, standby, slot); empty for a check's summary value
 * @param warning  the warning level in force, for perfdata; null when none
 * @param critical the critical level in force, for perfdata; null when none
 * @param lowerIsWorse the levels are floors (a hit ratio), not ceilings
 */
public record Metric(String name, double value, Unit unit, Map<String, String> labels, Double warning, Double critical,
                     String help, boolean lowerIsWorse) {

    public Metric {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    /** A metric whose levels, if any, are ceilings: higher is worse. */
    public Metric(String name, double value, Unit unit, Map<String, String> labels, Double warning, Double critical,
                  String help) {
        this(name, value, unit, labels, warning, critical, help, false);
    }

    public static Metric of(String name, double value, Unit unit, String help) {
        return new Metric(name, value, unit, Map.of(), null, null, help);
    }

    public static Metric labelled(String name, double value, Unit unit, Map<String, String> labels, String help) {
        return new Metric(name, value, unit, labels, null, null, help);
    }
}
