package dev.chronodr.verify;

import java.util.List;

import dev.chronodr.core.Status;

/**
 * One object a check found something about: a corrupt index, a foreign key with orphans,
 * a table it could not read. {@code count} and {@code sample} are filled where they mean
 * something (orphan rows, checksum failures, amcheck messages); {@code details} holds
 * facts about the object (pg_control fields); {@code fix} is the exact statement or
 * command that repairs or examines it, when there is one.
 *
 * <p>Not the audit's {@code Finding}: this one is about data (a status, counts and samples of
 * damaged rows or pages), the audit's about configuration (a rule, a severity, why it matters).
 * Both reach the renderers as part of a {@link dev.chronodr.report.CheckOutcome}'s detail.
 */
public record Finding(Status status, String kind, String object, String message, Long count, List<String> sample,
                      List<String> details, String fix) {
    public Finding {
        sample = sample == null ? null : List.copyOf(sample);
        details = details == null ? null : List.copyOf(details);
    }

    public static Finding of(Status status, String kind, String object, String message, String fix) {
        return new Finding(status, kind, object, message, null, null, null, fix);
    }

    /** With a count and a sample (orphan keys, amcheck messages). */
    public static Finding counted(Status status, String kind, String object, String message, long count, List<String> sample,
                                  String fix) {
        return new Finding(status, kind, object, message, count, sample, null, fix);
    }
}
