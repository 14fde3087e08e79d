package dev.chronodr.core;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/**
 * Which standard streams are terminals, whether colour is wanted, and how wide the terminal
 * is.
 *
 * @param columns the width from COLUMNS, or 0 when not known yet (then {@link #width()} asks)
 */
public record Terminal(boolean stdin, boolean stdout, boolean stderr, boolean color, int columns) {
    /** What a terminal of unknown width is taken to be. */
    public static final int DEFAULT_WIDTH = 80;

    public Terminal(boolean stdin, boolean stdout, boolean stderr, boolean color) {
        this(stdin, stdout, stderr, color, 0);
    }

    public static Terminal none() {
        return new Terminal(false, false, false, false);
    }

    /** Linux: a stream is a terminal when its fd links to a tty device. */
    public static Terminal detect(Environment env) {
        boolean in = isTty(0);
        boolean out = isTty(1);
        boolean err = isTty(2);
        boolean color = out && env.get("NO_COLOR") == null && !"dumb".equals(env.get("TERM"));
        return new Terminal(in, out, err, color, parseColumns(env.get("COLUMNS")));
    }

    /**
     * The terminal's width in columns: COLUMNS when the shell exported it, else what the
     * terminal says (asked only here, by the commands that draw progress), else 80.
     */
    public int width() {
        if (columns > 0) {
            return columns;
        }
        if (stderr) {
            try {
                ProcessResult r = new ProcessRunner(java.util.Map.of("PATH", "/usr/bin:/bin"))
                        .execute(ProcessSpec.of("stty", "-F", "/dev/tty", "size").withTimeout(Duration.ofSeconds(2)));
                String[] rowsCols = r.stdout().strip().split("\\s+");
                if (r.exitCode() == 0 && rowsCols.length == 2) {
                    int cols = parseColumns(rowsCols[1]);
                    if (cols > 0) {
                        return cols;
                    }
                }
            } catch (RuntimeException e) {
                // No stty, no controlling terminal: the default below.
            }
        }
        return DEFAULT_WIDTH;
    }

    static int parseColumns(String value) {
        try {
            int n = value == null ? 0 : Integer.parseInt(value.strip());
            return n >= 10 && n <= 1000 ? n : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static boolean isTty(int fd) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception e) {
            return fd == 1 && System.console() != null;
        }
    }
}
