package dev.chronodr.alert;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.chronodr.core.Status;

/**
 * The runbook's contact table. Each check at WARNING or CRITICAL is a problem, first seen
 * on some run; every step whose {@code after} has passed since then tells its channels,
 * once per status (a problem that gets worse is told again). When the check is OK again,
 * every channel that was told gets a recovery notice. UNKNOWN, SKIPPED or a check not run
 * this time neither escalates nor resolves: a database that is down makes its other checks
 * UNKNOWN, and that is not a recovery.
 *
 * <p>All deliveries run at once, under one deadline; one that fails or hangs is reported,
 * left unrecorded and tried again on the next run.
 */
public final class Escalation {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Escalation.class);
    /** One check's judgement in this run. */
    public record Observation(String check, Status status, String message) {
    }

    private final AlertPlan plan;
    private final Clock clock;

    public Escalation(AlertPlan plan, Clock clock) {
        this.plan = plan;
        this.clock = clock;
    }

    /**
     * Holds {@code STATE.lock} while it reads, delivers and writes, so that two runs of the same
     * target (overlapping cron jobs) take turns instead of overwriting each other's record.
     * A run that cannot have the lock within the deadline sends nothing and says so.
     */
    public AlertsOutcome run(String target, String server, List<Observation> observations) {
        Path lockFile = plan.stateFile().resolveSibling(plan.stateFile().getFileName() + ".lock");
        Instant giveUp = Instant.now().plus(plan.timeout());
        try {
            Files.createDirectories(lockFile.toAbsolutePath().getParent());
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                while (true) {
                    FileLock lock = tryLock(ch);
                    if (lock != null) {
                        try (FileLock held = lock) {
                            return locked(target, server, observations);
                        }
                    }
                    if (Instant.now().isAfter(giveUp)) {
                        return new AlertsOutcome(plan.stateFile().toString(), List.of(), 0, null, "another monitor run of this target held "
                                + lockFile + " for longer than alerts.timeout; nothing was sent this time");
                    }
                    Thread.sleep(100);
                }
            }
        } catch (IOException e) {
            return new AlertsOutcome(plan.stateFile().toString(), List.of(), 0, null, "cannot lock " + lockFile + " ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + "); nothing was sent this time");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new AlertsOutcome(plan.stateFile().toString(), List.of(), 0, null, "interrupted while waiting for " + lockFile);
        }
    }

    private static FileLock tryLock(FileChannel ch) throws IOException {
        try {
            return ch.tryLock();
        } catch (OverlappingFileLockException e) {
            return null; // held by another run in this JVM: wait as for another process
        }
    }

    private AlertsOutcome locked(String target, String server, List<Observation> observations) {
        Instant now = clock.instant();
        StringBuilder stateError = new StringBuilder();
        EscalationState state = EscalationState.load(plan.stateFile(), stateError);
        Map<String, Observation> seen = new LinkedHashMap<>();
        observations.forEach(o -> seen.put(o.check(), o));

        Map<String, List<Notice.Problem>> triggers = new LinkedHashMap<>();
        Map<String, List<Notice.Problem>> resolves = new LinkedHashMap<>();
        for (Observation o : observations) {
            if (o.status() != Status.WARNING && o.status() != Status.CRITICAL) {
                continue;
            }
            EscalationState.Problem p = state.problems.computeIfAbsent(o.check(), k -> {
                EscalationState.Problem n = new EscalationState.Problem();
                n.firstSeen = now;
                return n;
            });
            p.status = o.status();
            p.message = o.message();
            p.recovered = false;
            for (String ch : due(p, now)) {
                if (p.notified.get(ch) != p.status) {
                    triggers.computeIfAbsent(ch, k -> new ArrayList<>()).add(problem(o.check(), p));
                }
            }
        }
        for (Map.Entry<String, EscalationState.Problem> e : state.problems.entrySet()) {
            Observation o = seen.get(e.getKey());
            EscalationState.Problem p = e.getValue();
            if (o != null && o.status() == Status.OK) {
                p.recovered = true;
                p.message = o.message();
            }
            if (p.recovered) {
                for (String ch : p.notified.keySet()) {
                    if (plan.channels().containsKey(ch)) {
                        resolves.computeIfAbsent(ch, k -> new ArrayList<>()).add(problem(e.getKey(), p));
                    }
                }
            }
        }

        List<AlertsOutcome.Delivery> deliveries = deliver(target, server, now, triggers, resolves);
        for (AlertsOutcome.Delivery d : deliveries) {
            if (!d.sent()) {
                continue;
            }
            d.triggered().forEach(check -> state.problems.get(check).notified.put(d.channel(), state.problems.get(check).status));
            d.resolved().forEach(check -> state.problems.get(check).notified.remove(d.channel()));
        }
        // A recovered problem is forgotten once every channel that heard of it has heard it is over
        // (channels since removed from the config are not waited for).
        state.problems.values().removeIf(p -> p.recovered && p.notified.keySet().stream().noneMatch(plan.channels()::containsKey));
        try {
            state.save(plan.stateFile());
        } catch (IOException e) {
            stateError.setLength(0);
            stateError.append("the alert state file ").append(plan.stateFile()).append(" could not be written (")
                    .append(e.getClass().getSimpleName()).append(": ").append(e.getMessage())
                    .append("); the next run will not know what was sent");
        }
        return new AlertsOutcome(plan.stateFile().toString(), deliveries, state.problems.size(), next(state, now),
                stateError.isEmpty() ? null : stateError.toString());
    }

    /** The channels of every step that has come due for this problem, in step order. */
    private List<String> due(EscalationState.Problem p, Instant now) {
        List<String> out = new ArrayList<>();
        Duration age = Duration.between(p.firstSeen, now);
        for (AlertPlan.Step s : plan.steps()) {
            if (age.compareTo(s.after()) >= 0 && p.status.rank() >= s.minStatus().rank()) {
                s.channels().stream().filter(c -> !out.contains(c)).forEach(out::add);
            }
        }
        return out;
    }

    /** The soonest step still to come for an open problem: "dba at 2026-12-03T08:15:00Z". */
    private String next(EscalationState state, Instant now) {
        Instant soonest = null;
        List<String> who = null;
        for (EscalationState.Problem p : state.problems.values()) {
            if (p.recovered) {
                continue;
            }
            for (AlertPlan.Step s : plan.steps()) {
                Instant at = p.firstSeen.plus(s.after());
                if (at.isAfter(now) && p.status.rank() >= s.minStatus().rank() && (soonest == null || at.isBefore(soonest))) {
                    soonest = at;
                    who = s.channels();
                }
            }
        }
        return soonest == null ? null : String.join(",", who) + " at " + soonest;
    }

    private static Notice.Problem problem(String check, EscalationState.Problem p) {
        return new Notice.Problem(check, p.status, p.message, p.firstSeen);
    }

    /** Every channel's notice at once; whatever has not answered by the deadline is reported as failed. */
    private List<AlertsOutcome.Delivery> deliver(String target, String server, Instant now,
                                                 Map<String, List<Notice.Problem>> triggers, Map<String, List<Notice.Problem>> resolves) {
        List<String> names = new ArrayList<>();
        plan.channels().keySet().stream().filter(n -> triggers.containsKey(n) || resolves.containsKey(n)).forEach(names::add);
        if (names.isEmpty()) {
            return List.of();
        }
        Instant deadline = Instant.now().plus(plan.timeout());
        ExecutorService exec = Executors.newFixedThreadPool(names.size(), r -> {
            Thread t = new Thread(r, "chrono-dr-alert");
            t.setDaemon(true);
            return t;
        });
        Map<String, Notice> notices = new LinkedHashMap<>();
        Map<String, Future<?>> running = new LinkedHashMap<>();
        for (String n : names) {
            Notice notice = new Notice(target, server, now, triggers.getOrDefault(n, List.of()), resolves.getOrDefault(n, List.of()));
            notices.put(n, notice);
            AlertChannel ch = plan.channels().get(n);
            running.put(n, exec.submit(() -> {
                long start = System.nanoTime();
                ch.deliver(notice, deadline);
                log.debug("alert to {} ({}) taken in {} ms", n, ch.type(), (System.nanoTime() - start) / 1_000_000);
                return null;
            }));
        }
        List<AlertsOutcome.Delivery> out = new ArrayList<>();
        try {
            for (String n : names) {
                AlertChannel ch = plan.channels().get(n);
                Notice notice = notices.get(n);
                String failure = null;
                try {
                    long left = Math.max(0, Duration.between(Instant.now(), deadline).toMillis());
                    running.get(n).get(left, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    running.get(n).cancel(true);
                    failure = "no complete answer within " + seconds(plan.timeout()) + " (alerts.timeout); left unanswered";
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause() == null ? e : e.getCause();
                    failure = describe(cause);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failure = "interrupted";
                }
                out.add(new AlertsOutcome.Delivery(n, ch.type(), ch.destination(),
                        notice.triggered().stream().map(Notice.Problem::check).toList(),
                        notice.resolved().stream().map(Notice.Problem::check).toList(), failure == null, failure));
            }
        } finally {
            exec.shutdownNow();
        }
        return out;
    }

    /** The exception's class and message, and its cause's when that says more (Jakarta Mail wraps the socket's). */
    private static String describe(Throwable e) {
        String text = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + Notice.oneLine(e.getMessage()));
        Throwable cause = e.getCause();
        if (cause != null && cause != e && cause.getMessage() != null && !text.contains(cause.getMessage())) {
            text += " (" + cause.getClass().getSimpleName() + ": " + Notice.oneLine(cause.getMessage()) + ")";
        }
        return text.length() > 400 ? text.substring(0, 400) + "..." : text;
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }
}
