package dev.chronodr.monitor;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Comparator;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.alert.AlertsOutcome;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.HealthResult;
import dev.chronodr.report.TextView;

/**
 * One pass of {@code chrono-dr monitor}: every check's result and the overall status,
 * which is the worst check's. Rendered as text, JSON, a Nagios status line or Prometheus
 * text exposition. Checks are kept in the registry's order; text and Nagios show the worst first.
 *
 * @param server  user@host:port/database, never a password
 * @param version server version, null when it could not be reached
 * @param role    primary or standby, null when it could not be reached
 */
public record MonitorReport(Status status, String target, String server, String version, String role,
                            OffsetDateTime checkedAt, long durationMs, List<CheckOutcome> checks,
                            AlertOutcome alert, AlertsOutcome alerts, ExportOutcome export) implements HealthResult {

    public MonitorReport {
        checks = List.copyOf(checks);
    }

    /** A report without the alerts: section's outcome (the shape before it existed). */
    public MonitorReport(Status status, String target, String server, String version, String role, OffsetDateTime checkedAt,
                         long durationMs, List<CheckOutcome> checks, AlertOutcome alert, ExportOutcome export) {
        this(status, target, server, version, role, checkedAt, durationMs, checks, alert, null, export);
    }

    /** Whether an alert was attempted, sent, suppressed, or failed; the webhook shown without its path. */
    public record AlertOutcome(String webhook, boolean sent, boolean suppressed, String detail, String stateFile) {
    }

    public record ExportOutcome(String path, boolean written, String error) {
    }

    MonitorReport withAlert(AlertOutcome a) {
        return new MonitorReport(status, target, server, version, role, checkedAt, durationMs, checks, a, alerts, export);
    }

    MonitorReport withAlerts(AlertsOutcome a) {
        return new MonitorReport(status, target, server, version, role, checkedAt, durationMs, checks, alert, a, export);
    }

    MonitorReport withExport(ExportOutcome e) {
        return new MonitorReport(status, target, server, version, role, checkedAt, durationMs, checks, alert, alerts, e);
    }

    /**
     * The checks' worst status; an export that could not be written, or an alert of the
     * alerts: section that did not go out, makes it at least a failure (1).
     */
    @Override
    public ExitCode exitCode() {
        ExitCode code = status.exitCode();
        boolean failed = export != null && !export.written() || alerts != null && alerts.failed();
        return failed ? ExitCode.worst(code, ExitCode.FAILED) : code;
    }

    @JsonIgnore
    public List<CheckOutcome> worstFirst() {
        return checks.stream().sorted(Comparator.comparingInt((CheckOutcome c) -> c.status().rank()).reversed()).toList();
    }

    @JsonIgnore
    public CheckOutcome check(String name) {
        return checks.stream().filter(c -> c.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no check " + name));
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        long attention = checks.stream().filter(c -> c.status() != Status.OK && c.status() != Status.SKIPPED).count();
        String where = server + (version == null ? "" : ", PostgreSQL " + version + " " + role);
        out.line(TextView.word(status), TextView.text(" " + where + ": " + (attention == 0
                ? (checks.size() == 1 ? "1 check fine" : "all " + checks.size() + " checks fine")
                : attention + " of " + checks.size() + " checks need attention") + " (" + durationMs + " ms)"));
        for (CheckOutcome c : worstFirst()) {
            // One line per check, whatever an error message carried.
            out.line(TextView.word(c.status()), TextView.text(" " + Text.pad(c.name(), 20) + " " + Text.oneLine(c.message())));
        }
        if (alert != null) {
            out.line("alert: " + alertLine());
        }
        if (alerts != null) {
            alerts.lines().forEach(l -> out.line("alerts: " + l));
        }
        if (export != null) {
            out.line("export: " + (export.written() ? "wrote " + export.path() : "FAILED to write " + export.path() + ": " + export.error()));
        }
        return out.build();
    }

    String alertLine() {
        if (alert.sent()) {
            return "sent to " + alert.webhook();
        }
        return (alert.suppressed() ? "not sent: " : "FAILED to send to " + alert.webhook() + ": ") + alert.detail();
    }

    @Override
    public String suite() {
        return "chrono-dr monitor " + target;
    }

    @Override
    public List<CheckOutcome> outcomes() {
        return checks;
    }

    @Override
    public Duration elapsed() {
        return Duration.ofMillis(durationMs);
    }

    /** An export that could not be written or an alert that did not go out, for the Nagios status line. */
    @Override
    public String problem() {
        List<String> problems = new java.util.ArrayList<>();
        if (export != null && !export.written()) {
            problems.add("export to " + export.path() + " failed: " + export.error());
        }
        if (alerts != null && alerts.failed()) {
            alerts.lines().stream().filter(l -> l.startsWith("FAILED")).forEach(l -> problems.add("alert " + l));
        }
        return problems.isEmpty() ? null : String.join("; ", problems);
    }
}
