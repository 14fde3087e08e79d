package dev.chronodr.alert;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.Json;
import dev.chronodr.core.Status;

/**
 * The escalation's memory between cron runs, one JSON file per target: each problem
 * (a check at WARNING or CRITICAL) with when it was first seen and which channels were
 * told at which status. Written atomically, mode 0600.
 */
final class EscalationState {
    static final class Problem {
        Instant firstSeen;
        Status status;
        String message;
        /** OK again; kept until every channel that was alerted has been told. */
        boolean recovered;
        final Map<String, Status> notified = new LinkedHashMap<>();
    }

    final Map<String, Problem> problems = new LinkedHashMap<>();

    /** An absent file is a clean start; an unreadable one too, with the reason in {@code error}. */
    static EscalationState load(Path file, StringBuilder error) {
        EscalationState state = new EscalationState();
        JsonNode root;
        try {
            root = Json.mapper().readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            return state;
        } catch (IOException | RuntimeException e) {
            error.append("the alert state file ").append(file).append(" could not be read (").append(e.getClass().getSimpleName())
                    .append("); escalation starts again from the first step");
            return state;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = root.path("problems").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode n = e.getValue();
            try {
                Problem p = new Problem();
                p.firstSeen = Instant.parse(n.path("first_seen").asText());
                p.status = Status.valueOf(n.path("status").asText());
                p.message = n.path("message").asText("");
                p.recovered = n.path("recovered").asBoolean(false);
                n.path("notified").fields().forEachRemaining(c -> p.notified.put(c.getKey(), Status.valueOf(c.getValue().asText())));
                state.problems.put(e.getKey(), p);
            } catch (RuntimeException bad) {
                // one damaged entry: that problem starts over, the others keep their place
            }
        }
        return state;
    }

    void save(Path file) throws IOException {
        ObjectNode root = Json.mapper().createObjectNode();
        root.put("version", 1);
        ObjectNode all = root.putObject("problems");
        problems.forEach((check, p) -> {
            ObjectNode n = all.putObject(check);
            n.put("first_seen", p.firstSeen.toString());
            n.put("status", p.status.name());
            n.put("message", p.message);
            if (p.recovered) {
                n.put("recovered", true);
            }
            ObjectNode told = n.putObject("notified");
            p.notified.forEach((ch, s) -> told.put(ch, s.name()));
        });
        AtomicFile.write(file, (root.toPrettyString() + "\n").getBytes(StandardCharsets.UTF_8));
    }
}
