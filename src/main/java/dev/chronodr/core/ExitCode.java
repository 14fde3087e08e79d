package dev.chronodr.core;

/**
 * The one exit-code vocabulary of chrono-dr (shared/CLI-CONVENTIONS.md).
 * Actions and checks share the numbers so that cron, Nagios and CI read them alike.
 */
public enum ExitCode {
    OK(0),
    /** An action failed, or a check is at WARNING. */
    FAILED(1),
    /** A check is CRITICAL: corruption found, drill failed, database down. */
    CRITICAL(2),
    /** The check could not be run: missing privilege, missing tool. */
    UNKNOWN(3),
    /** Bad flag, bad value, missing confirmation in a non-interactive run. */
    USAGE(64);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static ExitCode worst(ExitCode a, ExitCode b) {
        return a.severity() >= b.severity() ? a : b;
    }

    /** Usage beats everything; then CRITICAL, UNKNOWN, FAILED, OK. */
    private int severity() {
        return switch (this) {
            case OK -> 0;
            case FAILED -> 1;
            case UNKNOWN -> 2;
            case CRITICAL -> 3;
            case USAGE -> 4;
        };
    }
}
