package dev.chronodr.process;

/**
 * A child that exited non-zero, timed out, or whose stream handler failed. Carries the
 * tail of its stderr so the caller can explain the cause.
 */
public class ProcessFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String program;
    private final int exitCode;
    private final String stderrTail;
    private final boolean timedOut;

    public ProcessFailedException(String program, int exitCode, String stderrTail, boolean timedOut, Throwable cause) {
        super(describe(program, exitCode, stderrTail, timedOut), cause);
        this.program = program;
        this.exitCode = exitCode;
        this.stderrTail = stderrTail == null ? "" : stderrTail;
        this.timedOut = timedOut;
    }

    private static String describe(String program, int exitCode, String stderrTail, boolean timedOut) {
        if (timedOut) {
            return program + " timed out";
        }
        String last = lastLine(stderrTail);
        return program + " exited with code " + exitCode + (last.isEmpty() ? "" : ": " + last);
    }

    static String lastLine(String text) {
        if (text == null) {
            return "";
        }
        String[] lines = text.strip().split("\n");
        return lines.length == 0 ? "" : lines[lines.length - 1].strip();
    }

    public String program() {
        return program;
    }

    public int exitCode() {
        return exitCode;
    }

    public String stderrTail() {
        return stderrTail;
    }

    public boolean timedOut() {
        return timedOut;
    }
}
