package dev.chronodr.alert;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * What the alerts did in one run: one delivery per channel that had something to say,
 * whether it was taken, and what is still to come.
 *
 * @param open       problems (checks at WARNING or CRITICAL, or recovered but not yet announced everywhere) being followed
 * @param next       the next escalation step due, e.g. "dba at 2026-12-03T08:15:00Z"; null when none is waiting
 * @param stateError why the escalation state could not be read or written; null when it was
 */
public record AlertsOutcome(String stateFile, List<Delivery> deliveries, int open, String next, String stateError) {
    public AlertsOutcome {
        deliveries = List.copyOf(deliveries);
    }

    /** One channel's notice: the checks it was told about (triggered) and told are OK again (resolved). */
    public record Delivery(String channel, String type, String destination, List<String> triggered, List<String> resolved,
                           boolean sent, String detail) {
    }

    /** A delivery that failed or state that could not be kept: the run's exit code is at least 1. */
    @JsonIgnore
    public boolean failed() {
        return stateError != null || deliveries.stream().anyMatch(d -> !d.sent());
    }

    /** One line per delivery, then the state: for the text report and the Nagios problem text. */
    @JsonIgnore
    public List<String> lines() {
        List<String> out = new java.util.ArrayList<>();
        for (Delivery d : deliveries) {
            String what = (d.triggered().isEmpty() ? "" : "alert " + String.join(",", d.triggered()))
                    + (d.triggered().isEmpty() || d.resolved().isEmpty() ? "" : "; ")
                    + (d.resolved().isEmpty() ? "" : "resolved " + String.join(",", d.resolved()));
            out.add(d.sent() ? "sent to " + d.channel() + " (" + d.type() + " " + d.destination() + "): " + what
                    : "FAILED to send to " + d.channel() + " (" + d.type() + " " + d.destination() + "): " + what + ": " + d.detail());
        }
        if (deliveries.isEmpty()) {
            out.add(open == 0 ? "nothing to send" : "nothing new to send; " + open + (open == 1 ? " problem" : " problems") + " open");
        }
        if (next != null) {
            out.add("next escalation: " + next);
        }
        if (stateError != null) {
            out.add("FAILED: " + stateError);
        }
        return out;
    }
}
