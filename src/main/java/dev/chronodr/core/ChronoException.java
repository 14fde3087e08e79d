package dev.chronodr.core;

/**
 * A known failure: one line that says what is wrong, a hint that says what to do,
 * and the exit code it maps to. Messages never contain secrets.
 */
public class ChronoException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ExitCode exitCode;
    private final String hint;

    public ChronoException(ExitCode exitCode, String message, String hint) {
        this(exitCode, message, hint, null);
    }

    public ChronoException(ExitCode exitCode, String message, String hint, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
        this.hint = hint;
    }

    public ExitCode exitCode() {
        return exitCode;
    }

    /** What the user should do next; may be null. */
    public String hint() {
        return hint;
    }

    public static ChronoException usage(String message, String hint) {
        return new ChronoException(ExitCode.USAGE, message, hint);
    }

    public static ChronoException failed(String message, String hint) {
        return new ChronoException(ExitCode.FAILED, message, hint);
    }

    public static ChronoException failed(String message, String hint, Throwable cause) {
        return new ChronoException(ExitCode.FAILED, message, hint, cause);
    }

    public static ChronoException critical(String message, String hint, Throwable cause) {
        return new ChronoException(ExitCode.CRITICAL, message, hint, cause);
    }

    public static ChronoException unknown(String message, String hint) {
        return new ChronoException(ExitCode.UNKNOWN, message, hint);
    }
}
