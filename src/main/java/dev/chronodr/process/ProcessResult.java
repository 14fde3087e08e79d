package dev.chronodr.process;

import java.time.Duration;

/**
 * How a child ended. {@code stdout} holds the captured output when no sink was given
 * (bounded, for small outputs such as {@code --version} or {@code pg_restore --list}).
 */
public record ProcessResult(int exitCode, String stdout, String stderrTail, Duration elapsed) {
    public boolean succeeded() {
        return exitCode == 0;
    }
}
