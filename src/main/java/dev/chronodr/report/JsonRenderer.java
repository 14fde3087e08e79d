package dev.chronodr.report;

import java.io.PrintWriter;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.chronodr.core.Json;
import dev.chronodr.core.ExitCode;

/**
 * The JSON envelope: {@code exit_code} first, then the result's fields. The same document
 * goes to stdout ({@code --format json}) and into every file a command writes
 * ({@code monitor --export}, {@code dr-test --report}) through {@link ReportFile}.
 */
final class JsonRenderer {
    private JsonRenderer() {
    }

    public static ObjectNode document(CommandResult result) {
        ObjectNode doc = Json.mapper().createObjectNode();
        doc.put("exit_code", result.exitCode().code());
        doc.setAll((ObjectNode) Json.mapper().valueToTree(result));
        return doc;
    }

    public static void render(CommandResult result, PrintWriter out) {
        write(document(result), out);
    }

    /** An error as the one JSON document: exit code, message and hint. */
    public static void renderError(ExitCode code, String message, String hint, PrintWriter out) {
        ObjectNode doc = Json.mapper().createObjectNode();
        doc.put("exit_code", code.code());
        ObjectNode e = doc.putObject("error");
        e.put("message", message);
        if (hint != null) {
            e.put("hint", hint);
        }
        write(doc, out);
    }

    private static void write(ObjectNode doc, PrintWriter out) {
        try {
            out.println(Json.mapper().writeValueAsString(doc));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
