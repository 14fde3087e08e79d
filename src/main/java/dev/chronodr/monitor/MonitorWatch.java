package dev.chronodr.monitor;

import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * {@code monitor --watch}: runs the checks every interval until the thread is interrupted
 * (Ctrl-C ends the process itself), handing each round's report to the caller to show.
 */
public final class MonitorWatch {
    /** Waits between rounds; the real one sleeps, a test's counts and interrupts. */
    interface Sleeper {
        void sleep(Duration interval) throws InterruptedException;
    }

    /** How many rounds ran, and the last one's report (null when none ran). */
    public record Ended(int rounds, MonitorReport last) {
    }

    private final Supplier<MonitorReport> round;
    private final Duration interval;
    private final Sleeper sleeper;

    public MonitorWatch(MonitorService service, MonitorRequest request, Duration interval) {
        this(() -> service.run(request), interval, d -> Thread.sleep(d.toMillis()));
    }

    MonitorWatch(Supplier<MonitorReport> round, Duration interval, Sleeper sleeper) {
        this.round = round;
        this.interval = interval;
        this.sleeper = sleeper;
    }

    public Ended run(Consumer<MonitorReport> onRound) {
        MonitorReport last = null;
        int rounds = 0;
        while (!Thread.currentThread().isInterrupted()) {
            last = round.get();
            rounds++;
            onRound.accept(last);
            try {
                sleeper.sleep(interval);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return new Ended(rounds, last);
    }
}
