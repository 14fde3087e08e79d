package dev.chronodr.alert;

import java.net.URI;
import java.time.Instant;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.chronodr.core.Json;
import dev.chronodr.core.Secret;

/**
 * PagerDuty Events API v2: one event per problem, {@code trigger} with a dedup_key that
 * is the same for a target's check on every run (so a repeat updates the incident rather
 * than opening another), and {@code resolve} with that key when the check is OK again.
 * The routing key is read from a file and never shown.
 */
record PagerDutyChannel(String name, URI url, Secret routingKey) implements AlertChannel {
    public static final URI EVENTS_V2 = URI.create("https://events.pagerduty.com/v2/enqueue");
    /** PagerDuty's limit on payload.summary. */
    private static final int SUMMARY_MAX = 1024;

    @Override
    public String type() {
        return "pagerduty";
    }

    @Override
    public String destination() {
        return HttpPost.display(url);
    }

    @Override
    public void deliver(Notice notice, Instant deadline) throws Exception {
        for (Notice.Problem p : notice.triggered()) {
            HttpPost.json(url, trigger(notice, p).toString(), deadline);
        }
        for (Notice.Problem p : notice.resolved()) {
            HttpPost.json(url, resolve(notice, p).toString(), deadline);
        }
    }

    ObjectNode trigger(Notice notice, Notice.Problem p) {
        ObjectNode event = event(notice, p, "trigger");
        String summary = p.status() + " " + p.check() + " on " + notice.target() + ": " + Notice.oneLine(p.message());
        ObjectNode payload = event.putObject("payload");
        payload.put("summary", summary.length() <= SUMMARY_MAX ? summary : summary.substring(0, SUMMARY_MAX - 3) + "...");
        payload.put("source", notice.server());
        payload.put("severity", p.status() == dev.chronodr.core.Status.CRITICAL ? "critical" : "warning");
        payload.put("timestamp", notice.at().toString());
        payload.put("component", notice.target());
        payload.put("class", p.check());
        payload.putObject("custom_details").put("check", p.check()).put("status", p.status().name())
                .put("message", p.message()).put("first_seen", p.firstSeen().toString());
        return event;
    }

    ObjectNode resolve(Notice notice, Notice.Problem p) {
        return event(notice, p, "resolve");
    }

    private ObjectNode event(Notice notice, Notice.Problem p, String action) {
        ObjectNode event = Json.mapper().createObjectNode();
        event.put("routing_key", routingKey.reveal());
        event.put("event_action", action);
        event.put("dedup_key", notice.dedupKey(p));
        event.put("client", "chrono-dr");
        return event;
    }
}
