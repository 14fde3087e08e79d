package dev.chronodr.monitor;

import java.util.List;
import java.util.Map;

import dev.chronodr.core.Status;

/**
 * The outcome of one check: a status, one line for people, the numbers behind it, and
 * the objects it is about (sessions, tables, standbys) for JSON readers.
 */
public record CheckResult(String name, Status status, String message, List<Metric> metrics,
                          List<Map<String, Object>> items) {

    public CheckResult {
        metrics = metrics == null ? List.of() : List.copyOf(metrics);
        items = items == null ? List.of() : List.copyOf(items);
    }

    public static CheckResult of(String name, Status status, String message) {
        return new CheckResult(name, status, message, List.of(), List.of());
    }
}
