package dev.chronodr.maintenance;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.chronodr.core.ChronoException;

/**
 * What the user asked {@code chrono-dr vacuum} to do. Bad combinations are refused here,
 * before any connection is made, so a typo never turns into work on the server.
 *
 * @param tables         names given with --tables (empty: every user table)
 * @param minDeadPercent only tables whose dead tuples are at least this share of all tuples
 * @param minXidAge      only tables whose transaction-ID age is at least this
 * @param lockTimeout    how long any statement may wait for a lock before it gives up
 */
public record VacuumRequest(List<String> tables, boolean analyze, Double minDeadPercent, Long minXidAge,
                            boolean reindex, boolean blocking, boolean full, Duration lockTimeout,
                            boolean dryRun, int jobs) {

    public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofSeconds(5);
    /** Longer waits are the queueing this option exists to prevent. */
    static final Duration MAX_LOCK_TIMEOUT = Duration.ofMinutes(10);
    static final int MAX_JOBS = 64;
    /** age(relfrozenxid) can never exceed 2^31. */
    static final long MAX_XID_AGE = 2_147_483_647L;

    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})\\s*(ms|s|min)?");

    public VacuumRequest {
        tables = tables == null ? List.of() : tables.stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
        if (lockTimeout == null) {
            lockTimeout = DEFAULT_LOCK_TIMEOUT;
        }
        if (minDeadPercent != null && (minDeadPercent.isNaN() || minDeadPercent < 0 || minDeadPercent > 100)) {
            throw ChronoException.usage("--min-dead-percent " + minDeadPercent + " is out of range", "use a percentage from 0 to 100");
        }
        if (minXidAge != null && (minXidAge < 0 || minXidAge > MAX_XID_AGE)) {
            throw ChronoException.usage("--min-xid-age " + minXidAge + " is out of range", "use 0 to " + MAX_XID_AGE);
        }
        if (blocking && !reindex) {
            throw ChronoException.usage("--blocking only applies to --reindex", "add --reindex, or leave --blocking out");
        }
        if (full && reindex) {
            throw ChronoException.usage("--full and --reindex together: VACUUM FULL already rebuilds every index of the table",
                    "use one of them");
        }
        if (jobs < 1 || jobs > MAX_JOBS) {
            throw ChronoException.usage("--jobs " + jobs + " is out of range", "use 1 to " + MAX_JOBS);
        }
        if (lockTimeout.isNegative() || lockTimeout.isZero() || lockTimeout.compareTo(MAX_LOCK_TIMEOUT) > 0) {
            throw ChronoException.usage("--lock-timeout must be more than 0 and at most 10min",
                    "0 would mean wait forever, which is what blocks the site; the default is 5s");
        }
    }

    /**
     * A lock timeout as typed: a number with ms, s or min (no unit means seconds),
     * the units PostgreSQL itself accepts for lock_timeout.
     */
    public static Duration parseLockTimeout(String text) {
        Matcher m = DURATION.matcher(text == null ? "" : text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw ChronoException.usage("--lock-timeout '" + text + "' is not a duration", "write it like 5s, 500ms or 2min");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "min" -> Duration.ofMinutes(n);
            default -> Duration.ofSeconds(n);
        };
    }

    /** No --tables and no thresholds: the whole database is in scope. */
    public boolean wholeDatabase() {
        return tables.isEmpty() && minDeadPercent == null && minXidAge == null;
    }

    public boolean hasThresholds() {
        return minDeadPercent != null || minXidAge != null;
    }

    /** The one statement every connection runs first, so that nothing ever waits in a lock queue for long. */
    public String sessionSetup() {
        return "SET lock_timeout = '" + lockTimeout.toMillis() + "ms'";
    }
}
