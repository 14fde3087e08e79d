package dev.chronodr.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;

/** The --watch loop without a server or a real sleep: rounds, what each shows, and how it ends. */
class MonitorWatchTest {
    private static MonitorReport report(Status status) {
        return new MonitorReport(status, "t", "u@h:5432/db", "15", "primary", OffsetDateTime.now(), 1, List.of(), null, null);
    }

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    @Test
    void showsEveryRoundAndStopsWhenInterruptedWhileWaiting() {
        List<MonitorReport> rounds = new ArrayList<>(List.of(report(Status.OK), report(Status.WARNING), report(Status.CRITICAL)));
        List<MonitorReport> shown = new ArrayList<>();
        List<Duration> waits = new ArrayList<>();
        MonitorWatch watch = new MonitorWatch(() -> rounds.remove(0), Duration.ofSeconds(7), d -> {
            waits.add(d);
            if (rounds.isEmpty()) {
                throw new InterruptedException("Ctrl-C");
            }
        });
        MonitorWatch.Ended ended = watch.run(shown::add);
        assertEquals(3, ended.rounds());
        assertEquals(3, shown.size(), "each round is shown as it comes");
        assertSame(shown.get(2), ended.last());
        assertEquals(Status.CRITICAL, ended.last().status());
        assertEquals(ExitCode.CRITICAL, ended.last().exitCode(), "the watch ends with the last round's exit code");
        assertEquals(List.of(Duration.ofSeconds(7), Duration.ofSeconds(7), Duration.ofSeconds(7)), waits);
        assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is kept for the caller");
    }

    @Test
    void anInterruptDuringARoundEndsTheWatchAfterThatRound() {
        List<MonitorReport> shown = new ArrayList<>();
        MonitorWatch watch = new MonitorWatch(() -> {
            Thread.currentThread().interrupt();
            return report(Status.OK);
        }, Duration.ofSeconds(1), d -> {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException();
            }
        });
        MonitorWatch.Ended ended = watch.run(shown::add);
        assertEquals(1, ended.rounds());
        assertEquals(1, shown.size());
    }

    @Test
    void anAlreadyInterruptedThreadRunsNoRound() {
        Thread.currentThread().interrupt();
        MonitorWatch.Ended ended = new MonitorWatch(() -> {
            throw new AssertionError("no round may run");
        }, Duration.ofSeconds(1), d -> { }).run(r -> { });
        assertEquals(0, ended.rounds());
        assertEquals(null, ended.last());
    }
}
