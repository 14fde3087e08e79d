package dev.chronodr.verify;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.core.ChronoException;

/** Durations as PostgreSQL writes them: 500ms, 30s, 5min, 2h, 1d; 0 means no limit. */
public final class Timeouts {
    private static final Pattern TEXT = Pattern.compile("(\\d+)\\s*(ms|s|min|m|h|d)");

    private Timeouts() {
    }

    public static Duration parse(String option, String text) {
        String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        if (t.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = TEXT.matcher(t);
        if (!m.matches()) {
            throw ChronoException.usage(option + " '" + text + "' is not a duration", "write e.g. 500ms, 30s, 5min, 2h, or 0 for no limit");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "min", "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
        // statement_timeout is an int of milliseconds on the server.
        if (d.toMillis() > Integer.MAX_VALUE) {
            throw ChronoException.usage(option + " '" + text + "' is too long", "the server's limit is about 24 days; use 0 for no limit");
        }
        return d;
    }
}
