package dev.chronodr.report;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.core.ExitCode;

/**
 * What every command returns: one object, rendered as text for people or as JSON for
 * scripts by the same {@link Renderer}. The exit code is decided by the result. A result
 * describes its text as data ({@link TextView}); it never lays out text itself.
 */
public interface CommandResult {
    @JsonIgnore
    ExitCode exitCode();

    /** What the result says to people, laid out by {@link TextOutput}. */
    @JsonIgnore
    TextView text();
}
