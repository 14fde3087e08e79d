package dev.chronodr.audit;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * One thing the audit found: which rule, how bad, on what object, what shows it, why
 * it matters and how to fix it. Evidence never contains a password or a verifier.
 */
public record Finding(String id, Severity severity, String check, String object, String evidence, String why, String fix) {

    /** What {@code --ignore ID:OBJECT} matches for this one finding. */
    @JsonIgnore
    public String key() {
        return id + ":" + object;
    }
}
