package dev.chronodr.report;

import java.io.PrintWriter;

import dev.chronodr.core.Progress;
import dev.chronodr.core.Terminal;

/**
 * Progress on stderr, redrawn in place at most a few times a second. A line never reaches
 * the terminal's last column: a longer one wraps, and "\r" then redraws only its second
 * half, leaving a trail of stale lines.
 */
public final class TerminalProgress implements Progress {
    private final PrintWriter err;
    private final int maxLength;
    private long lastDraw;
    private int lastLength;

    TerminalProgress(PrintWriter err, int columns) {
        this.err = err;
        this.maxLength = Math.max(10, columns - 1);
    }

    /** Progress when stderr is a terminal and the user did not ask for quiet; else none. */
    public static Progress forTerminal(Terminal terminal, PrintWriter err, boolean quiet) {
        return terminal.stderr() && !quiet ? new TerminalProgress(err, terminal.width()) : Progress.NONE;
    }

    @Override
    public synchronized void update(String line) {
        long now = System.nanoTime();
        if (now - lastDraw < 200_000_000L) {
            return;
        }
        lastDraw = now;
        String fitted = fit(line, maxLength);
        String padded = fitted.length() < lastLength ? fitted + " ".repeat(lastLength - fitted.length()) : fitted;
        err.print("\r" + padded);
        err.flush();
        lastLength = fitted.length();
    }

    /** The line cut to {@code max} characters, its end marked with "...". */
    static String fit(String line, int max) {
        String one = line.replace('\n', ' ').replace('\r', ' ');
        return one.length() <= max ? one : one.substring(0, max - 3) + "...";
    }

    @Override
    public synchronized void done() {
        if (lastLength > 0) {
            err.print("\r" + " ".repeat(lastLength) + "\r");
            err.flush();
            lastLength = 0;
        }
    }
}
