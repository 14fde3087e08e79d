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

    private static final Duration MAX_MARGIN = Duration.ofSeconds(30);

    /**
     * How long a client waits for a word from a server whose statements run under
     * {@code statementTimeout}: that, and as much again up to 30 s more, since a stopped or
     * wedged backend enforces no timeout of its own. Zero (no limit) stays zero.
     */
    public static Duration silence(Duration statementTimeout) {
        return statementTimeout.plus(statementTimeout.compareTo(MAX_MARGIN) < 0 ? statementTimeout : MAX_MARGIN);
    }

    /**
     * Whether a failure is a read that waited out the network timeout on an open connection
     * (a SocketTimeoutException under it), not a connect that timed out (SQLSTATE 08001).
     */
    public static boolean readTimedOut(Throwable failure) {
        boolean timedOut = false;
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.sql.SQLException s && "08001".equals(s.getSQLState())) {
                return false;
            }
            timedOut |= t instanceof java.net.SocketTimeoutException;
        }
        return timedOut;
    }

    /** {@link #silence} as a JDBC network timeout: milliseconds, 0 for none. */
    public static int networkTimeoutMillis(Duration statementTimeout) {
        return (int) Math.min(Integer.MAX_VALUE, silence(statementTimeout).toMillis());
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
        Duration d;
        try {
            long n = Long.parseLong(m.group(1));
            d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "min", "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
            d.toMillis(); // one that overflows milliseconds is too long, as one over the server's limit
        } catch (NumberFormatException | ArithmeticException tooBig) {
            throw ChronoException.usage(option + " '" + text + "' is too long", "the server's limit is about 24 days; use 0 for no limit");
        }
        // statement_timeout is an int of milliseconds on the server.
        if (d.toMillis() > Integer.MAX_VALUE) {
            throw ChronoException.usage(option + " '" + text + "' is too long", "the server's limit is about 24 days; use 0 for no limit");
        }
        return d;
    }
}
