package dev.chronodr.audit;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * One thing the audit found: which rule, how bad, on what object, what shows it, why
 * it matters and how to fix it. Evidence never contains a password or a verifier.
 *
 * <p>Its own type, not verify's: a rule id that --ignore names, a security severity (INFO is
 * reported but passes) and the reason why. The renderers see it as a
 * {@link dev.chronodr.report.CheckOutcome} ({@link AuditReport#outcomes()}).
 */
public record Finding(String id, Severity severity, String check, String object, String evidence, String why, String fix) {

    /** What {@code --ignore ID:OBJECT} matches for this one finding. */
    @JsonIgnore
    public String key() {
        return id + ":" + object;
    }
}
