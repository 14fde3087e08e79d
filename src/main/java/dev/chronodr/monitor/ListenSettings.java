package dev.chronodr.monitor;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Set;

import dev.chronodr.config.ChronoConfig;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.report.Unit;

/**
 * How {@code monitor --listen} serves, resolved from the flag and the target's
 * {@code monitor.listen} config.
 *
 * @param address       where to listen; loopback unless a host was named
 * @param cache         how long the expensive checks' outcomes are reused (zero: every scrape)
 * @param showQueryText whether SQL texts of sessions and statements stay in what is served
 */
public record ListenSettings(InetSocketAddress address, Duration cache, boolean showQueryText) {
    public static final Duration DEFAULT_CACHE = Duration.ofMinutes(5);

    /**
     * The checks worth caching: reading the backup repository (a listing, on object storage
     * a paid one), and the per-table statistics (the bloat estimate: one row per table of
     * the database, which grows with the schema). The others cost a share of one round trip.
     */
    static final Set<String> CACHED = Set.of("backup_freshness", "dead_tuples", "last_vacuum", "last_analyze");

    private static final String HINT = "use --listen PORT or :PORT (loopback), or HOST:PORT, e.g. --listen 9187 or --listen 0.0.0.0:9187";

    public static ListenSettings resolve(String listen, Target target) {
        MonitorConfig config = target.config() == null ? new MonitorConfig()
                : ChronoConfig.section(target.config(), "monitor", MonitorConfig.class).orElseGet(MonitorConfig::new);
        ListenConfig c = config.listen == null ? new ListenConfig() : config.listen;
        Duration cache = c.cache == null ? DEFAULT_CACHE : duration(c.cache);
        return new ListenSettings(address(listen), cache, Boolean.TRUE.equals(c.showQueryText));
    }

    /**
     * PORT or :PORT listens on 127.0.0.1 only; anything else must be named (0.0.0.0:9187,
     * [::]:9187, a host name), so a bare port can never expose the endpoint to the network.
     */
    public static InetSocketAddress address(String text) {
        String t = text == null ? "" : text.strip();
        String host;
        String port;
        if (t.startsWith("[")) {
            int close = t.indexOf(']');
            if (close < 0 || close + 1 >= t.length() || t.charAt(close + 1) != ':') {
                throw bad(text);
            }
            host = t.substring(1, close);
            port = t.substring(close + 2);
        } else {
            int colon = t.lastIndexOf(':');
            host = colon < 0 ? "" : t.substring(0, colon);
            port = t.substring(colon + 1);
            if (host.contains(":")) {
                throw ChronoException.usage("--listen '" + text + "': put an IPv6 address in brackets", "e.g. --listen [::1]:9187");
            }
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw bad(text);
        }
        if (p < 1 || p > 65535) {
            throw ChronoException.usage("--listen '" + text + "': port " + p + " is out of range", "use a port from 1 to 65535, e.g. 9187");
        }
        if (host.isEmpty()) {
            return new InetSocketAddress(loopback(), p);
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), p);
        } catch (UnknownHostException e) {
            throw ChronoException.usage("--listen '" + text + "': unknown host " + host, HINT);
        }
    }

    private static InetAddress loopback() {
        try {
            return InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ChronoException bad(String text) {
        return ChronoException.usage("--listen '" + text + "' is not PORT or HOST:PORT", HINT);
    }

    private static Duration duration(String text) {
        Double seconds;
        try {
            seconds = Unit.SECONDS.parse(text);
        } catch (IllegalArgumentException e) {
            throw ChronoException.usage("config monitor.listen.cache: " + e.getMessage(), "use a duration such as 0, 30s or 5m");
        }
        if (seconds == null) {
            return Duration.ZERO; // "off"
        }
        if (seconds < 0) {
            throw ChronoException.usage("config monitor.listen.cache needs a duration, not '" + text + "'", "use a duration such as 0, 30s or 5m");
        }
        return Duration.ofMillis(Math.round(seconds * 1000));
    }
}
