package dev.chronodr.monitor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.ChronoException;

/**
 * Every threshold the checks declare, with its built-in levels, and the overrides from the
 * config's {@code monitor.warning}/{@code monitor.critical} maps and the
 * {@code --warning NAME=VALUE}/{@code --critical NAME=VALUE} flags (flags win).
 */
public final class Thresholds {
    private final Map<String, Threshold> byName;

    private Thresholds(Map<String, Threshold> byName) {
        this.byName = byName;
    }

    /** The built-in levels of every check. */
    public static Thresholds defaults() {
        return of(MonitorChecks.all());
    }

    /** The levels these checks declare, with their built-in values. */
    public static Thresholds of(List<HealthCheck> checks) {
        Map<String, Threshold> m = new LinkedHashMap<>();
        for (HealthCheck c : checks) {
            for (Threshold t : c.thresholds()) {
                if (m.putIfAbsent(t.name(), t) != null) {
                    throw new IllegalStateException("threshold " + t.name() + " declared twice");
                }
            }
        }
        return new Thresholds(m);
    }

    public Threshold get(String name) {
        Threshold t = byName.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no threshold " + name);
        }
        return t;
    }

    public List<Threshold> all() {
        return List.copyOf(byName.values());
    }

    /**
     * Applies overrides, each map NAME -> VALUE; {@code source} names where they came from
     * for the usage error ("--warning", "config monitor.critical").
     */
    public Thresholds override(Map<String, String> warning, String warningSource,
                               Map<String, String> critical, String criticalSource) {
        Map<String, Threshold> m = new LinkedHashMap<>(byName);
        apply(m, warning, warningSource, true);
        apply(m, critical, criticalSource, false);
        return new Thresholds(m);
    }

    /** These thresholds, once every critical level lies beyond its warning level; else a usage error. */
    public Thresholds validated() {
        for (Threshold t : byName.values()) {
            if (t.warning() != null && t.critical() != null
                    && (t.lowerIsWorse() ? t.critical() > t.warning() : t.critical() < t.warning())) {
                throw ChronoException.usage("threshold " + t.name() + ": critical " + t.unit().format(t.critical())
                                + " is " + (t.lowerIsWorse() ? "above" : "below") + " warning " + t.unit().format(t.warning()),
                        "critical must be " + (t.lowerIsWorse() ? "lower" : "higher") + " than (or equal to) warning for " + t.name());
            }
        }
        return this;
    }

    private static void apply(Map<String, Threshold> m, Map<String, String> values, String source, boolean warning) {
        if (values == null) {
            return;
        }
        values.forEach((name, text) -> {
            Threshold t = m.get(name);
            if (t == null) {
                throw ChronoException.usage(source + ": unknown threshold '" + name + "'",
                        "known thresholds: " + String.join(", ", m.keySet()));
            }
            Double v;
            try {
                v = t.unit().parse(text);
            } catch (IllegalArgumentException e) {
                throw ChronoException.usage(source + " " + name + ": " + e.getMessage(), name + " takes " + t.unit().expected() + ", or off");
            }
            m.put(name, warning ? t.with(v, t.critical()) : t.with(t.warning(), v));
        });
    }
}
