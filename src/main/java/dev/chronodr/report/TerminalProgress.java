package dev.chronodr.report;

import java.io.PrintWriter;

import dev.chronodr.core.Progress;
import dev.chronodr.core.Terminal;

/** Progress on stderr, redrawn in place at most a few times a second. */
public final class TerminalProgress implements Progress {
    private final PrintWriter err;
    private long lastDraw;
    private int lastLength;

    private TerminalProgress(PrintWriter err) {
        this.err = err;
    }

    /** Progress when stderr is a terminal and the user did not ask for quiet; else none. */
    public static Progress forTerminal(Terminal terminal, PrintWriter err, boolean quiet) {
        return terminal.stderr() && !quiet ? new TerminalProgress(err) : Progress.NONE;
    }

    @Override
    public synchronized void update(String line) {
        long now = System.nanoTime();
        if (now - lastDraw < 200_000_000L) {
            return;
        }
        lastDraw = now;
        String padded = line.length() < lastLength ? line + " ".repeat(lastLength - line.length()) : line;
        err.print("\r" + padded);
        err.flush();
        lastLength = line.length();
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
