package dev.chronodr.report;

import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * A result made of checks (verify, monitor, audit, the drill's steps): what the JUnit
 * renderer reads, one test case per {@link CheckOutcome}, in this order.
 */
public interface CheckedResult extends CommandResult {
    /** The test suite's name, e.g. "chrono-dr verify app@db:5432/app". */
    @JsonIgnore
    String suite();

    @JsonIgnore
    List<CheckOutcome> outcomes();

    /** Wall time of the whole run. */
    @JsonIgnore
    Duration elapsed();
}
