package dev.chronodr.core;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A password. Its toString and JSON form never reveal the value, so a secret that
 * slips into a log line, an exception or a result prints as a mask.
 */
public final class Secret {
    private final String value;

    private Secret(String value) {
        this.value = value;
    }

    public static Secret of(String value) {
        return value == null ? null : new Secret(value);
    }

    /** The value, for the few places that hand it to a driver or a child's environment. */
    public String reveal() {
        return value;
    }

    @Override
    @JsonValue
    public String toString() {
        return "********";
    }
}
