package dev.chronodr.report;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;

import dev.chronodr.core.Status;

/**
 * The text renderer: lays out a result's {@link TextView} for people (aligned fields, status
 * words, colour only on a terminal) and puts the user's target and repository flags into
 * every chrono-dr command it prints ({@link Suggestions}). Also the human units results use
 * in their views: sizes and durations.
 */
public final class TextOutput {
    private final PrintWriter out;
    private final boolean color;
    private final Suggestions suggestions;

    public TextOutput(PrintWriter out, boolean color) {
        this(out, color, Suggestions.NONE);
    }

    /** Text whose chrono-dr commands carry the flags that chose the target and repository. */
    public TextOutput(PrintWriter out, boolean color, Suggestions suggestions) {
        this.out = out;
        this.color = color;
        this.suggestions = suggestions;
    }

    public void render(TextView view) {
        for (TextView.Row row : view.rows()) {
            if (row instanceof TextView.Line l) {
                line(join(l));
            } else if (row instanceof TextView.Field f) {
                field(f.label(), f.value());
            } else if (row instanceof TextView.Verbatim v) {
                out.println(v.text());
            }
        }
    }

    private String join(TextView.Line l) {
        StringBuilder b = new StringBuilder();
        for (TextView.Span span : l.spans()) {
            if (span instanceof TextView.Text t) {
                b.append(t.text());
            } else if (span instanceof TextView.Word w) {
                b.append(w.padded() ? status(w.status()) : status(w.status()).strip());
            }
        }
        return b.toString();
    }

    void line(String s) {
        out.println(suggestions.apply(s));
    }

    void field(String label, Object value) {
        out.printf("  %-14s %s%n", label + ":", value == null ? null : suggestions.apply(value.toString()));
    }

    String status(Status s) {
        String text = String.format("%-8s", s.name());
        if (!color) {
            return text;
        }
        String code = switch (s) {
            case OK -> "32";
            case WARNING -> "33";
            case CRITICAL -> "31;1";
            case UNKNOWN -> "35";
            case SKIPPED -> "2";
        };
        return "\u001b[" + code + "m" + text + "\u001b[0m";
    }

    public static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = n;
        int i = -1;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[i]);
    }

    public static String duration(Duration d) {
        long ms = d.toMillis();
        if (ms < 1000) {
            return ms + " ms";
        }
        if (ms < 60_000) {
            return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
        }
        long s = ms / 1000;
        return s / 3600 > 0 ? String.format("%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60) : String.format("%dm%02ds", s / 60, s % 60);
    }
}
