package dev.chronodr.monitor;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.core.Json;

/**
 * Posts a Slack-compatible message ({"text": ...}) when the overall status is WARNING or
 * CRITICAL. A webhook that is down or slow never changes the monitor's own status or exit
 * code: the failure is reported in the result, and the next run tries again. With
 * once-per, the same alert (same status, same failing checks) is not repeated within the
 * period; a different one goes out at once, and a clean run forgets the last one.
 */
final class WebhookAlert {
    private final AlertSettings settings;

    WebhookAlert(AlertSettings settings) {
        this.settings = settings;
    }

    MonitorReport.AlertOutcome deliver(MonitorReport report) {
        String hook = settings.displayWebhook();
        String state = settings.oncePer() == null ? null : settings.stateFile().toString();
        if (report.status() != Status.WARNING && report.status() != Status.CRITICAL) {
            forget();
            return new MonitorReport.AlertOutcome(hook, false, false, "status " + report.status() + ", nothing to send", state);
        }
        String key = key(report);
        Instant now = report.checkedAt().toInstant();
        if (settings.oncePer() != null) {
            Instant last = lastSent(key);
            if (last != null && now.isBefore(last.plus(settings.oncePer()))) {
                return new MonitorReport.AlertOutcome(hook, false, true, "the same alert was sent at " + last
                        + "; it repeats from " + last.plus(settings.oncePer()) + " (--alert-once-per)", state);
            }
        }
        String failure = post(message(report));
        if (failure != null) {
            return new MonitorReport.AlertOutcome(hook, false, false, failure, state);
        }
        String remembered = settings.oncePer() == null ? null : remember(key, now);
        return new MonitorReport.AlertOutcome(hook, true, false, remembered == null ? null : "sent, but " + remembered, state);
    }

    /** Same status and same checks in trouble: the same alert. */
    static String key(MonitorReport report) {
        return report.status() + ":" + report.checks().stream()
                .filter(c -> c.status() == Status.WARNING || c.status() == Status.CRITICAL)
                .map(c -> c.name() + "=" + c.status()).sorted().collect(Collectors.joining(","));
    }

    static String message(MonitorReport report) {
        StringBuilder text = new StringBuilder("chrono-dr monitor: " + report.status() + " on target " + report.target()
                + " (" + report.server() + ")");
        for (CheckOutcome c : report.worstFirst()) {
            if (c.status() != Status.OK && c.status() != Status.SKIPPED) {
                text.append('\n').append(c.status()).append(' ').append(c.name()).append(": ").append(c.message());
            }
        }
        ObjectNode body = Json.mapper().createObjectNode();
        body.put("text", text.toString());
        return body.toString();
    }

    /**
     * Null when the webhook took the message; else why not, without the URL's secret path.
     * One deadline covers everything (name lookup, connect, headers and the whole body):
     * HttpRequest's own timeout stops at the headers, so a peer that drips its body would
     * otherwise hold the monitor for as long as it likes.
     */
    private String post(String json) {
        Duration deadline = settings.timeout();
        ExecutorService exec = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "chrono-dr-webhook");
            t.setDaemon(true);
            return t;
        });
        Future<String> attempt = exec.submit(() -> send(json, deadline));
        try {
            return attempt.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            attempt.cancel(true);
            return describe(new HttpTimeoutException("no complete answer within " + seconds(deadline)
                    + " (monitor.alert.timeout); the webhook was left unanswered"));
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            return describe(cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            attempt.cancel(true);
            return "interrupted";
        } finally {
            exec.shutdownNow();
        }
    }

    private String send(String json, Duration deadline) throws IOException, InterruptedException {
        try {
            dev.chronodr.alert.HttpPost.json(settings.webhook(), json, Instant.now().plus(deadline));
            return null;
        } catch (dev.chronodr.alert.HttpPost.Refused e) {
            return e.getMessage();
        }
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }

    private Instant lastSent(String key) {
        Path file = settings.stateFile();
        try {
            JsonNode n = Json.mapper().readTree(Files.readString(file));
            return key.equals(n.path("key").asText()) ? Instant.parse(n.path("sent_at").asText()) : null;
        } catch (IOException | RuntimeException e) {
            // Missing or unreadable state: better one alert too many than one too few.
            return null;
        }
    }

    /** Null when remembered; else why not (the alert itself was sent). */
    private String remember(String key, Instant at) {
        ObjectNode n = Json.mapper().createObjectNode();
        n.put("key", key);
        n.put("sent_at", at.toString());
        try {
            AtomicFile.write(settings.stateFile(), (n.toString() + "\n").getBytes(StandardCharsets.UTF_8));
            return null;
        } catch (IOException e) {
            return "the alert state file " + settings.stateFile() + " could not be written (" + e.getMessage() + ")";
        }
    }

    private void forget() {
        if (settings.oncePer() != null) {
            try {
                Files.deleteIfExists(settings.stateFile());
            } catch (IOException ignored) {
                // a stale state file only delays the next identical alert by one period
            }
        }
    }
}
