package dev.chronodr.report;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.core.Status;

/**
 * The outcome of one check, whichever capability ran it (monitor's health checks, verify's
 * integrity checks, the audit's rule groups, the drill's steps): a status, one line for
 * people, the numbers behind it (with the levels they were judged against), and the objects
 * it is about for JSON readers. Every renderer (text, JSON, JUnit, Nagios, Prometheus) reads
 * checks through this one type.
 *
 * <p>The JSON of a monitor check is {@code name, status, message, metrics, items}; the other
 * components are for renderers that lay out a test report and stay out of JSON.
 *
 * @param group    the family of checks, JUnit's class name ("chrono-dr.verify", "audit.roles"); null when none
 * @param detail   the long form behind the message (a JUnit failure's body); null when none
 * @param duration how long it ran; null when not measured
 * @param hint     what to do next, for people; null when nothing
 */
public record CheckOutcome(String name, Status status, String message, List<Metric> metrics,
                           List<Map<String, Object>> items, @JsonIgnore String group, @JsonIgnore String detail,
                           @JsonIgnore Duration duration, @JsonIgnore String hint) {

    public CheckOutcome {
        metrics = metrics == null ? List.of() : List.copyOf(metrics);
        items = items == null ? List.of() : List.copyOf(items);
    }

    /** A health check's outcome: name, status, message, its metrics and the objects it is about. */
    public CheckOutcome(String name, Status status, String message, List<Metric> metrics, List<Map<String, Object>> items) {
        this(name, status, message, metrics, items, null, null, null, null);
    }

    public static CheckOutcome of(String name, Status status, String message) {
        return new CheckOutcome(name, status, message, List.of(), List.of());
    }

    /** A test-report case: one check or step of a group, with its long form and its time. */
    public static CheckOutcome step(String group, String name, Status status, String message, String detail, Duration duration) {
        return new CheckOutcome(name, status, message, List.of(), List.of(), group, detail, duration, null);
    }
}
