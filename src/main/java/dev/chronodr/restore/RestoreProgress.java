package dev.chronodr.restore;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.core.Progress;

/**
 * Counts the archive items pg_restore -v reports done, for the terminal's progress line.
 * One job: each item prints one "creating ...", "processing data ..." or "executing ..."
 * line. Several: the leader prints "processing item N TYPE" (or "processing missed item N
 * TYPE", for one it ran after the workers) for the items it runs itself and "finished
 * item N" for those its workers ran; its four header items (ENCODING,
 * STDSTRINGS, SEARCHPATH, DATABASE) are not in the table of contents --list counts.
 */
final class RestoreProgress {
    /** "processing missed item": one a worker could not take (a lock conflict, say), run by the leader at the end. */
    private static final Pattern LEADER = Pattern.compile("processing (?:missed )?item \\d+ (\\S+)");
    /**
     * The leader's and the workers' lines share one stderr, and each writes its "pg_restore: "
     * prefix and its message in separate writes: lines arrive as "pg_restore: pg_restore:
     * finished item ..." or "finished item ..." with no prefix. So a message counts wherever
     * it stands in a line.
     */
    private static final Pattern FINISHED = Pattern.compile("finished item \\d+ ");
    private static final Set<String> HEADERS = Set.of("ENCODING", "STDSTRINGS", "SEARCHPATH", "DATABASE");

    private final Progress progress;
    private final int total;
    private final boolean parallel;
    private final long t0 = System.nanoTime();
    private int events;

    RestoreProgress(Progress progress, int total, boolean parallel) {
        this.progress = progress;
        this.total = total;
        this.parallel = parallel;
    }

    synchronized void line(String line) {
        int n = counts(line);
        if (n > 0) {
            events += n;
            progress.update(String.format(Locale.ROOT, "restore: %d/%d archive items, %.0f s", Math.min(events, total), total,
                    (System.nanoTime() - t0) / 1e9));
        }
    }

    /** Items reported done so far (uncapped, so a test sees an overcount). */
    synchronized int events() {
        return events;
    }

    /** How many items the line reports done. */
    private int counts(String line) {
        if (!parallel) {
            return line.startsWith("pg_restore: creating ") || line.startsWith("pg_restore: processing data ")
                    || line.startsWith("pg_restore: executing ") ? 1 : 0;
        }
        int n = 0;
        Matcher f = FINISHED.matcher(line);
        while (f.find()) {
            n++;
        }
        Matcher m = LEADER.matcher(line);
        while (m.find()) {
            if (!HEADERS.contains(m.group(1))) {
                n++;
            }
        }
        return n;
    }
}
