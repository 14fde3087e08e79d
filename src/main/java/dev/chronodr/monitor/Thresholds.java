package dev.chronodr.monitor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.ChronoException;

/**
 * Every threshold the checks use, with its built-in levels, and the overrides from the
 * config's {@code monitor.warning}/{@code monitor.critical} maps and the
 * {@code --warning NAME=VALUE}/{@code --critical NAME=VALUE} flags (flags win).
 */
public final class Thresholds {
    private static final double GIB = 1024.0 * 1024 * 1024;
    private static final double MIB = 1024.0 * 1024;

    private final Map<String, Threshold> byName;

    private Thresholds(Map<String, Threshold> byName) {
        this.byName = byName;
    }

    /** The built-in levels; the runbook's where it gives one. */
    public static Thresholds defaults() {
        Map<String, Threshold> m = new LinkedHashMap<>();
        for (Threshold t : List.of(
                high("connections", Unit.PERCENT, 80d, 95d, "client connections in use, of max_connections minus the reserved ones"),
                high("long_query", Unit.SECONDS, 300d, 1800d, "how long an active query has run"),
                high("long_transaction", Unit.SECONDS, 900d, 3600d, "how long a transaction has been open"),
                high("idle_in_transaction", Unit.SECONDS, 300d, 1800d, "how long a session has sat idle inside a transaction"),
                high("lock_wait", Unit.SECONDS, 30d, 300d, "how long a session has waited for a lock"),
                high("dead_tuples", Unit.PERCENT, 30d, 50d, "dead tuples as a share of a table's tuples"),
                high("last_vacuum", Unit.SECONDS, 7 * 86400d, 30 * 86400d, "time since a table was last vacuumed"),
                high("last_analyze", Unit.SECONDS, 7 * 86400d, 30 * 86400d, "time since a table was last analyzed"),
                high("xid_wraparound", Unit.PERCENT, 50d, 75d, "oldest transaction ID age, as a share of the 2^31 wraparound limit"),
                high("multixact_wraparound", Unit.PERCENT, 50d, 75d, "oldest multixact ID age, as a share of the 2^31 wraparound limit"),
                low("cache_hit", Unit.PERCENT, 95d, 90d, "block reads served from shared buffers"),
                high("database_size", Unit.BYTES, null, null, "size of the database"),
                high("disk", Unit.PERCENT, 85d, 95d, "used space on the data directory's filesystem"),
                high("replication_lag", Unit.SECONDS, 300d, 900d, "replay lag of a standby, in time"),
                high("replication_lag_bytes", Unit.BYTES, 256 * MIB, GIB, "replay lag of a standby, in WAL bytes"),
                high("slot_retained_wal", Unit.BYTES, GIB, 10 * GIB, "WAL a replication slot keeps on the primary"),
                high("slow_statement", Unit.SECONDS, 1d, 5d, "mean execution time of a statement in pg_stat_statements"))) {
            m.put(t.name(), t);
        }
        return new Thresholds(m);
    }

    private static Threshold high(String name, Unit unit, Double warning, Double critical, String meaning) {
        return new Threshold(name, unit, false, warning, critical, meaning);
    }

    private static Threshold low(String name, Unit unit, Double warning, Double critical, String meaning) {
        return new Threshold(name, unit, true, warning, critical, meaning);
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
