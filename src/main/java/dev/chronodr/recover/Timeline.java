package dev.chronodr.recover;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;

/** The steps taken so far, each timed and announced to the listener as it starts and ends. */
final class Timeline {
    /** What a step reports when it ends. */
    record Outcome(Status status, String summary, List<String> details) {
        static Outcome ok(String summary, List<String> details) {
            return new Outcome(Status.OK, summary, details);
        }

        static Outcome ok(String summary) {
            return ok(summary, List.of());
        }

        static Outcome failed(String summary, List<String> details) {
            return new Outcome(Status.CRITICAL, summary, details);
        }

        static Outcome warning(String summary, List<String> details) {
            return new Outcome(Status.WARNING, summary, details);
        }
    }

    @FunctionalInterface
    interface Body {
        Outcome run();
    }

    private final StepListener listener;
    private final List<Step> steps = new ArrayList<>();
    private final long started = System.nanoTime();
    private final OffsetDateTime startedAt = Clock.now();

    Timeline(StepListener listener) {
        this.listener = listener;
    }

    /**
     * Runs one step. A known failure (a {@link ChronoException} other than a usage error) ends it
     * as failed and is returned as such, so the run can say what was left as it was; a usage
     * error (exit 64) and anything unexpected end it as failed and go on up.
     */
    Step run(String name, Body body) {
        OffsetDateTime at = Clock.now();
        long t = System.nanoTime();
        listener.started(name, at);
        Outcome o;
        try {
            o = body.run();
        } catch (ChronoException e) {
            if (e.exitCode() == ExitCode.USAGE) {
                record(new Step(name, Status.CRITICAL, at, (System.nanoTime() - t) / 1_000_000, "failed: " + e.getMessage(), List.of()));
                throw e;
            }
            return record(new Step(name, Status.CRITICAL, at, (System.nanoTime() - t) / 1_000_000, "failed: " + e.getMessage(),
                    e.hint() == null ? List.of() : List.of("hint: " + e.hint())));
        } catch (RuntimeException e) {
            record(new Step(name, Status.CRITICAL, at, (System.nanoTime() - t) / 1_000_000, "failed: " + e.getMessage(), List.of()));
            throw e;
        }
        return record(new Step(name, o.status(), at, (System.nanoTime() - t) / 1_000_000, o.summary(), o.details()));
    }

    /** A step that was not taken, with the reason. */
    void skipped(String name, String why) {
        OffsetDateTime at = Clock.now();
        listener.started(name, at);
        record(new Step(name, Status.SKIPPED, at, 0, why, List.of()));
    }

    private Step record(Step s) {
        steps.add(s);
        listener.ended(s);
        return s;
    }

    List<Step> steps() {
        return List.copyOf(steps);
    }

    OffsetDateTime startedAt() {
        return startedAt;
    }

    long elapsedMillis() {
        return (System.nanoTime() - started) / 1_000_000;
    }
}
