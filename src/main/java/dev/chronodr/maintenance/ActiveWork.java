package dev.chronodr.maintenance;

import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the workers are doing right now: which backend works on which table (for the
 * progress line) and which statements are running (to cancel them if chrono-dr is
 * interrupted, so no VACUUM FULL keeps its lock after the user gave up on it).
 */
final class ActiveWork {
    private final Map<Integer, String> labels = new ConcurrentHashMap<>();
    private final Set<Statement> running = ConcurrentHashMap.newKeySet();
    private final AtomicInteger done = new AtomicInteger();
    private final int total;

    ActiveWork(int total) {
        this.total = total;
    }

    void begin(int pid, String label) {
        labels.put(pid, label);
    }

    void end(int pid) {
        labels.remove(pid);
    }

    Map<Integer, String> labels() {
        return Map.copyOf(labels);
    }

    void track(Statement st) {
        running.add(st);
    }

    void untrack(Statement st) {
        running.remove(st);
    }

    void tableDone() {
        done.incrementAndGet();
    }

    int done() {
        return done.get();
    }

    int total() {
        return total;
    }

    /** Asks the server to cancel every running statement; called from a shutdown hook. */
    void cancelAll() {
        for (Statement st : running) {
            try {
                st.cancel();
            } catch (SQLException | RuntimeException e) {
                // the statement finished or its connection is gone: nothing left to cancel
            }
        }
    }
}
