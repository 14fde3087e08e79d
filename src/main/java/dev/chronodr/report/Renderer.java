package dev.chronodr.report;

import java.io.PrintWriter;

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
            case JSON -> JsonRenderer.render(result, out);
            case TEXT -> new TextOutput(out, color, suggestions).render(result.text());
            case JUNIT -> JUnitRenderer.render(as(CheckedResult.class, result), out);
            case NAGIOS -> NagiosRenderer.render(as(HealthResult.class, result), out);
            case PROMETHEUS -> PrometheusRenderer.render(as(HealthResult.class, result), out);
        }
        out.flush();
    }

    /** Whether {@code result} offers what {@code format} reads: checks for JUnit, a health pass for Nagios and Prometheus. */
    public static boolean supports(Format format, CommandResult result) {
        return switch (format) {
            case TEXT, JSON -> true;
            case JUNIT -> result instanceof CheckedResult;
            case NAGIOS, PROMETHEUS -> result instanceof HealthResult;
        };
    }

    private <T> T as(Class<T> offered, CommandResult result) {
        if (!offered.isInstance(result)) {
            throw new IllegalStateException(format.label() + " output is not available for this command");
        }
        return offered.cast(result);
    }

    /** An error as one line (plus hint) on stderr, or as the one JSON document on stdout. */
    public void renderError(ExitCode code, String message, String hint, PrintWriter out, PrintWriter err) {
        message = suggestions.apply(message);
        hint = suggestions.apply(hint);
        if (format == Format.JSON) {
            JsonRenderer.renderError(code, message, hint, out);
            out.flush();
        } else {
            err.println("chrono-dr: " + message);
            if (hint != null) {
                err.println("  hint: " + hint);
            }
            err.flush();
        }
    }
}
