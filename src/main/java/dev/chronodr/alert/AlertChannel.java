package dev.chronodr.alert;

import java.time.Instant;

/**
 * One place an alert can reach people: PagerDuty, Slack, e-mail, a generic webhook. A
 * channel turns a {@link Notice} into the payload its receiver expects and hands it over
 * before {@code deadline}; it throws when the receiver did not take it.
 */
public interface AlertChannel {
    /** The name the config gave it ({@code alerts.channels.NAME}). */
    String name();

    /** pagerduty, slack, email or webhook. */
    String type();

    /** Where it goes, for output: never a secret (no webhook path, no key, no password). */
    String destination();

    void deliver(Notice notice, Instant deadline) throws Exception;
}
