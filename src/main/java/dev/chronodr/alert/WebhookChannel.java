package dev.chronodr.alert;

import java.net.URI;
import java.time.Instant;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.chronodr.core.Json;

/**
 * A generic webhook: {@code text} (as the monitor's --alert-webhook sends) and the same
 * notice as data, for a receiver that routes on fields.
 */
record WebhookChannel(String name, URI url) implements AlertChannel {
    @Override
    public String type() {
        return "webhook";
    }

    @Override
    public String destination() {
        return HttpPost.display(url);
    }

    @Override
    public void deliver(Notice notice, Instant deadline) throws Exception {
        HttpPost.json(url, payload(notice).toString(), deadline);
    }

    static ObjectNode payload(Notice notice) {
        ObjectNode body = Json.mapper().createObjectNode();
        body.put("text", notice.text());
        body.put("target", notice.target());
        body.put("server", notice.server());
        body.put("at", notice.at().toString());
        problems(body.putArray("triggered"), notice, notice.triggered());
        problems(body.putArray("resolved"), notice, notice.resolved());
        return body;
    }

    private static void problems(ArrayNode out, Notice notice, java.util.List<Notice.Problem> problems) {
        for (Notice.Problem p : problems) {
            out.addObject().put("check", p.check()).put("status", p.status().name()).put("message", p.message())
                    .put("first_seen", p.firstSeen().toString()).put("dedup_key", notice.dedupKey(p));
        }
    }
}
