package dev.chronodr.schedule;

import java.util.List;

/**
 * One scheduled job: its name (monitor, backup, vacuum, dr-test), when it runs, and the
 * chrono-dr command lines it runs in order, each without the launcher ("backup", flags...).
 * A later step runs only when the one before succeeded: cleanup after a failed backup
 * would prune while the newest backup is missing.
 */
public record Job(String name, String description, CronExpression when, List<List<String>> steps, int startingDeadlineSeconds) {
    public Job {
        steps = steps.stream().map(List::copyOf).toList();
    }
}
