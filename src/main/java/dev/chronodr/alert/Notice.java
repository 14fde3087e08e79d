package dev.chronodr.alert;

import java.time.Instant;
import java.util.List;

import dev.chronodr.core.Status;

/**
 * What one channel is told in one run: problems it has not heard about yet (or whose
 * status changed), and problems it was alerted about that are OK again.
 *
 * @param server user@host:port/database of the monitored server, never a password
 */
public record Notice(String target, String server, Instant at, List<Problem> triggered, List<Problem> resolved) {
    public Notice {
        triggered = List.copyOf(triggered);
        resolved = List.copyOf(resolved);
    }

    /** One check in trouble (or recovered): its status and message as the monitor judged them. */
    public record Problem(String check, Status status, String message, Instant firstSeen) {
    }

    /** The same problem on every run and every channel: PagerDuty's dedup_key. */
    public String dedupKey(Problem p) {
        return "chrono-dr/" + target + "/" + p.check();
    }

    /** One line for a subject or a heading: the worst new status, else RESOLVED, and the checks. */
    public String headline() {
        String checks = String.join(", ", (triggered.isEmpty() ? resolved : triggered).stream().map(Problem::check).toList());
        if (triggered.isEmpty()) {
            return "RESOLVED on " + target + ": " + checks;
        }
        Status worst = Status.worst(triggered.stream().map(Problem::status).toList());
        return worst + " on " + target + ": " + checks + (resolved.isEmpty() ? "" : " (" + resolved.size() + " resolved)");
    }

    /** Plain text, one line per problem, for e-mail bodies and the generic webhook's text. */
    public String text() {
        StringBuilder out = new StringBuilder("chrono-dr monitor, target " + target + " (" + server + ") at " + at);
        for (Problem p : triggered) {
            out.append('\n').append(p.status()).append(' ').append(p.check()).append(": ").append(oneLine(p.message()))
                    .append(" (since ").append(p.firstSeen()).append(')');
        }
        for (Problem p : resolved) {
            out.append('\n').append("RESOLVED ").append(p.check()).append(": ").append(oneLine(p.message()));
        }
        return out.toString();
    }

    static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s+", " ").strip();
    }
}
