package dev.chronodr.core;

import java.nio.file.Files;
import java.nio.file.Path;

/** Which standard streams are terminals, and whether colour is wanted. */
public record Terminal(boolean stdin, boolean stdout, boolean stderr, boolean color) {

    public static Terminal none() {
        return new Terminal(false, false, false, false);
    }

    /** Linux: a stream is a terminal when its fd links to a tty device. */
    public static Terminal detect(Environment env) {
        boolean in = isTty(0);
        boolean out = isTty(1);
        boolean err = isTty(2);
        boolean color = out && env.get("NO_COLOR") == null && !"dumb".equals(env.get("TERM"));
        return new Terminal(in, out, err, color);
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
