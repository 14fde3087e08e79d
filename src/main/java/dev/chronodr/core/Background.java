package dev.chronodr.core;

import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Work beside the command's own, on a daemon thread of its own: never the shared pool,
 * which the command's own work may fill (it has one thread on a 2-core machine), and never
 * a thread that keeps the JVM alive once the command is done.
 */
public final class Background {
    private Background() {
    }

    /** Runs {@code work} on a new daemon thread named {@code name}; its exception completes the future. */
    public static <T> CompletableFuture<T> supply(String name, Supplier<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                result.complete(work.get());
            } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return result;
    }
}
