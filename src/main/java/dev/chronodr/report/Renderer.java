package dev.chronodr.report;

import java.io.PrintWriter;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.chronodr.core.ExitCode;

/**
 * Renders a result or an error in the chosen format. In JSON, stdout holds exactly one
 * document, and errors take the same path, so {@code --format json} never prints a
 * stack trace.
 */
public final class Renderer {
    private final Format format;
    private final boolean color;
    private final Suggestions suggestions;

    public Renderer(Format format, boolean color) {
        this(format, color, Suggestions.NONE);
    }

    /** A renderer whose printed chrono-dr commands carry the caller's target and repository flags. */
    public Renderer(Format format, boolean color, Suggestions suggestions) {
        this.format = format;
        this.color = color;
        this.suggestions = suggestions;
    }

    public Format format() {
        return format;
    }

    public void render(CommandResult result, PrintWriter out) {
        switch (format) {
            case JSON -> {
                ObjectNode node = Json.mapper().valueToTree(result);
                ObjectNode doc = Json.mapper().createObjectNode();
                doc.put("exit_code", result.exitCode().code());
                doc.setAll(node);
                writeJson(doc, out);
            }
            case TEXT -> result.renderText(new TextOutput(out, color, suggestions));
            default -> {
                if (result instanceof FormatRenderable r && r.supports(format)) {
                    r.render(format, out);
                } else {
                    throw new IllegalStateException(format.label() + " output is not available for this command");
                }
            }
        }
        out.flush();
    }

    /** An error as one line (plus hint) on stderr, or as the one JSON document on stdout. */
    public void renderError(ExitCode code, String message, String hint, PrintWriter out, PrintWriter err) {
        message = suggestions.apply(message);
        hint = suggestions.apply(hint);
        if (format == Format.JSON) {
            ObjectNode doc = Json.mapper().createObjectNode();
            doc.put("exit_code", code.code());
            ObjectNode e = doc.putObject("error");
            e.put("message", message);
            if (hint != null) {
                e.put("hint", hint);
            }
            writeJson(doc, out);
            out.flush();
        } else {
            err.println("chrono-dr: " + message);
            if (hint != null) {
                err.println("  hint: " + hint);
            }
            err.flush();
        }
    }

    private static void writeJson(ObjectNode doc, PrintWriter out) {
        try {
            out.println(Json.mapper().writeValueAsString(doc));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Results that offer formats beyond text and JSON (junit, nagios, prometheus). */
    public interface FormatRenderable {
        boolean supports(Format format);

        void render(Format format, PrintWriter out);
    }
}
