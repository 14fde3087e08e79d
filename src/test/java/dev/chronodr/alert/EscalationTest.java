package dev.chronodr.alert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.Status;

/**
 * The escalation's rules without a database or a network: what counts as a recovery, what
 * is sent again, and what a failed delivery leaves for the next run. Channels record the
 * notices they get; one can be told to fail.
 */
class EscalationTest {
    @TempDir
    Path dir;

    /** Records each notice as "trigger CHECK STATUS" / "resolve CHECK"; fails while {@code failing}. */
    static final class Recorder implements AlertChannel {
        final String name;
        final List<String> got = new ArrayList<>();
        boolean failing;

        Recorder(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String type() {
            return "test";
        }

        @Override
        public String destination() {
            return "memory";
        }

        @Override
        public void deliver(Notice notice, Instant deadline) throws Exception {
            if (failing) {
                throw new java.io.IOException("receiver down");
            }
            notice.triggered().forEach(p -> got.add("trigger " + p.check() + " " + p.status()));
            notice.resolved().forEach(p -> got.add("resolve " + p.check()));
        }
    }

    private final Recorder pager = new Recorder("pager");
    private final Recorder dba = new Recorder("dba");
    private final AlertReceivers.MovableClock clock = new AlertReceivers.MovableClock(Instant.parse("2026-12-03T03:00:00Z"));

    private Escalation escalation() {
        Map<String, AlertChannel> channels = new LinkedHashMap<>();
        channels.put("pager", pager);
        channels.put("dba", dba);
        return new Escalation(new AlertPlan(channels, List.of(
                new AlertPlan.Step(Duration.ZERO, List.of("pager"), Status.CRITICAL),
                new AlertPlan.Step(Duration.ofMinutes(15), List.of("dba"), Status.WARNING)),
                dir.resolve("state.json"), Duration.ofSeconds(1)), clock);
    }

    private AlertsOutcome run(int minutes, Status disk, Status locks) {
        clock.set(Instant.parse("2026-12-03T03:00:00Z").plus(Duration.ofMinutes(minutes)));
        return escalation().run("prod", "u@h:5432/db", List.of(
                new Escalation.Observation("disk", disk, "disk " + disk),
                new Escalation.Observation("lock_waits", locks, "locks " + locks)));
    }

    @Test
    void minStatusWorseningUnknownAndAFailedDeliveryEachDoWhatTheDocsSay() throws Exception {
        // A WARNING is not for the pager (min_status critical); the DBA hears after 15 minutes.
        run(0, Status.WARNING, Status.OK);
        assertEquals(List.of(), pager.got);
        run(15, Status.WARNING, Status.OK);
        assertEquals(List.of("trigger disk WARNING"), dba.got);
        // Worse: the pager step now applies, and the DBA is told again, at the new status.
        run(20, Status.CRITICAL, Status.OK);
        assertEquals(List.of("trigger disk CRITICAL"), pager.got);
        assertEquals(List.of("trigger disk WARNING", "trigger disk CRITICAL"), dba.got);
        // UNKNOWN (a down database makes checks UNKNOWN) is no recovery, and no check at all neither.
        run(25, Status.UNKNOWN, Status.OK);
        clock.set(clock.instant().plus(Duration.ofMinutes(1)));
        escalation().run("prod", "u@h:5432/db", List.of());
        assertEquals(1, pager.got.size());
        assertEquals(2, dba.got.size());
        // A failed trigger is tried again on the next run; the other channel is not repeated.
        pager.failing = true;
        AlertsOutcome failed = run(30, Status.OK, Status.CRITICAL);
        assertTrue(failed.failed(), failed.toString());
        assertEquals(List.of("trigger disk CRITICAL"), pager.got, "nothing reached the pager");
        assertEquals(List.of("trigger disk WARNING", "trigger disk CRITICAL", "resolve disk"), dba.got);
        pager.failing = false;
        AlertsOutcome retried = run(35, Status.OK, Status.CRITICAL);
        assertTrue(!retried.failed(), retried.toString());
        assertEquals(List.of("trigger disk CRITICAL", "trigger lock_waits CRITICAL", "resolve disk"), pager.got);
        assertEquals(3, dba.got.size(), "the DBA's resolve is not sent twice");
        assertEquals(1, retried.open(), "disk is forgotten; lock_waits is open");
        // A damaged state file is reported (exit 1) and escalation starts over, rather than going silent.
        Files.writeString(dir.resolve("state.json"), "{not json");
        AlertsOutcome damaged = run(40, Status.OK, Status.CRITICAL);
        assertTrue(damaged.failed() && damaged.stateError().contains("could not be read"), damaged.toString());
        assertEquals(List.of("trigger disk CRITICAL", "trigger lock_waits CRITICAL", "resolve disk", "trigger lock_waits CRITICAL"),
                pager.got, "paged again from the first step");
        // Another run holding the state's lock: this one waits, up to the deadline, then sends nothing and says so.
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir.resolve("state.json.lock"),
                java.nio.file.StandardOpenOption.WRITE); java.nio.channels.FileLock held = ch.lock()) {
            AlertsOutcome busy = run(45, Status.CRITICAL, Status.CRITICAL);
            assertTrue(busy.failed() && busy.stateError().contains("held"), busy.toString());
            assertEquals(4, pager.got.size(), "nothing sent without the lock");
        }
        AlertsOutcome after = run(46, Status.CRITICAL, Status.CRITICAL);
        assertEquals(List.of("disk"), after.deliveries().get(0).triggered(), "the next run goes on: " + after);
    }
}
