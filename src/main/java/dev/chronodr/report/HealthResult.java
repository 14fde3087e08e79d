package dev.chronodr.report;

import java.time.OffsetDateTime;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.core.Status;

/** A health pass that monitoring systems read: what the Nagios and Prometheus renderers need. */
public interface HealthResult extends CheckedResult {
    /** The overall status: the worst check's. */
    Status status();

    /** The target's name, Prometheus's target label. */
    String target();

    /** user@host:port/database, never a password. */
    String server();

    OffsetDateTime checkedAt();

    /** A failure of the run itself beyond its checks (an export not written), for the status line; null when none. */
    @JsonIgnore
    String problem();
}
