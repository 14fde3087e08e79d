package dev.chronodr.alert;

import java.net.URI;
import java.time.Instant;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.chronodr.core.Json;

/**
 * A Slack incoming webhook (or a Slack-compatible one: Mattermost, Rocket.Chat): {@code text}
 * as the notification's fallback, and {@code blocks}: a header and one mrkdwn section per
 * problem. The URL is the secret, so it comes from a file and only scheme://host is shown.
 */
record SlackChannel(String name, URI url) implements AlertChannel {
    /** Slack's limits: a header's plain text, a section's mrkdwn. */
    private static final int HEADER_MAX = 150;
    private static final int SECTION_MAX = 3000;

    @Override
    public String type() {
        return "slack";
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
        body.put("text", "chrono-dr: " + notice.headline());
        ArrayNode blocks = body.putArray("blocks");
        ObjectNode header = blocks.addObject().put("type", "header");
        header.putObject("text").put("type", "plain_text").put("text", cut("chrono-dr: " + notice.headline(), HEADER_MAX));
        for (Notice.Problem p : notice.triggered()) {
            section(blocks, (p.status() == dev.chronodr.core.Status.CRITICAL ? ":red_circle: *" : ":warning: *") + p.status()
                    + "* `" + escape(p.check()) + "`: " + escape(Notice.oneLine(p.message())) + "\nsince " + p.firstSeen());
        }
        for (Notice.Problem p : notice.resolved()) {
            section(blocks, ":white_check_mark: *RESOLVED* `" + escape(p.check()) + "`: " + escape(Notice.oneLine(p.message())));
        }
        ObjectNode context = blocks.addObject().put("type", "context");
        context.putArray("elements").addObject().put("type", "mrkdwn")
                .put("text", escape("target " + notice.target() + " (" + notice.server() + ") at " + notice.at()));
        return body;
    }

    private static void section(ArrayNode blocks, String mrkdwn) {
        blocks.addObject().put("type", "section").putObject("text").put("type", "mrkdwn").put("text", cut(mrkdwn, SECTION_MAX));
    }

    /** Slack's three control characters in message text. */
    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }
}
