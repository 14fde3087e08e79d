package dev.chronodr.monitor;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import dev.chronodr.alert.AlertPlan;
import dev.chronodr.alert.AlertsSection;
import dev.chronodr.config.ChronoConfig;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.report.Unit;

/** One monitor run, fully resolved: flag > environment > config file > built-in default. */
public record MonitorRequest(Target target, List<HealthCheck> checks, MonitorSettings settings, Path export,
                             AlertSettings alert, AlertPlan alerts, ProcessRunner runner) {

    public static final String WEBHOOK_ENV = "CHRONO_DR_ALERT_WEBHOOK";

    public static MonitorRequest resolve(MonitorOptions o, Target target, Environment env) {
        MonitorConfig config = target.config() == null ? new MonitorConfig()
                : ChronoConfig.section(target.config(), "monitor", MonitorConfig.class).orElseGet(MonitorConfig::new);
        List<HealthCheck> checks = checks(o, config);
        Thresholds thresholds = Thresholds.defaults()
                .override(config.warning, "config monitor.warning", config.critical, "config monitor.critical")
                .override(o.warning(), "--warning", o.critical(), "--critical")
                .validated();
        MonitorSettings settings = new MonitorSettings(thresholds,
                positive(config.tableMinRows, MonitorSettings.DEFAULT_TABLE_MIN_ROWS, "table_min_rows"),
                positive(config.statementMinCalls, MonitorSettings.DEFAULT_STATEMENT_MIN_CALLS, "statement_min_calls"),
                positive(config.cacheHitMinBlocks, MonitorSettings.DEFAULT_CACHE_HIT_MIN_BLOCKS, "cache_hit_min_blocks"));
        Path export = o.export() == null ? null : env.resolve(o.export());
        return new MonitorRequest(target, checks, settings, export, alert(o, config.alert, env, target, export),
                alerts(target, env, export), new ProcessRunner(env.vars()));
    }

    private static List<HealthCheck> checks(MonitorOptions o, MonitorConfig config) {
        List<HealthCheck> all = MonitorChecks.all();
        List<String> named = o.checks() == null ? List.of() : o.checks();
        if (o.health() && !named.isEmpty()) {
            throw ChronoException.usage("--health runs every check; it cannot be combined with --check",
                    "use either --health or --check NAME...");
        }
        if (named.isEmpty() && !o.health() && config.checks != null && !config.checks.isEmpty()) {
            named = config.checks;
        }
        if (o.health() || named.isEmpty()) {
            return all;
        }
        Map<String, HealthCheck> byName = new LinkedHashMap<>();
        all.forEach(c -> byName.put(c.name(), c));
        List<HealthCheck> picked = new ArrayList<>();
        for (String n : named) {
            HealthCheck c = byName.get(n.strip());
            if (c == null) {
                throw ChronoException.usage("unknown check '" + n + "'", "checks: " + String.join(", ", byName.keySet()));
            }
            if (!picked.contains(c)) {
                picked.add(c);
            }
        }
        // Registry order, whatever order they were named in.
        return all.stream().filter(picked::contains).collect(Collectors.toList());
    }

    private static long positive(Long v, long otherwise, String key) {
        if (v == null) {
            return otherwise;
        }
        if (v < 0) {
            throw ChronoException.usage("config monitor." + key + " is negative", "use 0 or more");
        }
        return v;
    }

    /** The target's alerts: section (channels and escalation), or null; its state file defaults as the webhook's does. */
    private static AlertPlan alerts(Target target, Environment env, Path export) {
        return target.config() == null ? null : ChronoConfig.section(target.config(), "alerts", AlertsSection.class)
                .map(s -> AlertPlan.resolve(s, env, () -> {
                    String fileName = ".chrono-dr-alerts-" + target.name().replaceAll("[^A-Za-z0-9._-]", "_") + ".json";
                    return export != null ? export.toAbsolutePath().resolveSibling(fileName)
                            : target.repo().path("the alerts' escalation state (set alerts.state_file)").resolve(fileName);
                })).orElse(null);
    }

    private static AlertSettings alert(MonitorOptions o, MonitorConfig.Alert c, Environment env, Target target, Path export) {
        MonitorConfig.Alert cfg = c == null ? new MonitorConfig.Alert() : c;
        String url = first(o.alertWebhook(), env.get(WEBHOOK_ENV), cfg.webhook);
        String oncePer = first(o.alertOncePer(), cfg.oncePer);
        String stateFile = first(o.alertStateFile(), cfg.stateFile);
        if (url == null) {
            if (o.alertOncePer() != null || o.alertStateFile() != null) {
                throw ChronoException.usage("--alert-once-per and --alert-state-file need a webhook",
                        "pass --alert-webhook URL, set " + WEBHOOK_ENV + ", or set monitor.alert.webhook in the config");
            }
            return null;
        }
        URI uri;
        try {
            uri = new URI(url.strip());
        } catch (URISyntaxException e) {
            throw ChronoException.usage("the alert webhook is not a valid URL", "give an http(s) URL such as https://hooks.slack.com/services/...");
        }
        if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
            throw ChronoException.usage("the alert webhook must be an http or https URL with a host",
                    "give an http(s) URL such as https://hooks.slack.com/services/...");
        }
        Duration period = oncePer == null ? null : duration(oncePer, "--alert-once-per");
        if (period != null && period.isZero()) {
            throw ChronoException.usage("--alert-once-per must be longer than 0", "e.g. --alert-once-per 1h");
        }
        if (period == null && stateFile != null && o.alertStateFile() != null) {
            throw ChronoException.usage("--alert-state-file is only used with --alert-once-per", "add --alert-once-per DURATION");
        }
        Duration timeout = cfg.timeout == null ? AlertSettings.DEFAULT_TIMEOUT : duration(cfg.timeout, "monitor.alert.timeout");
        if (timeout.isZero()) {
            throw ChronoException.usage("monitor.alert.timeout must be longer than 0", "e.g. timeout: 10s");
        }
        Path state = null;
        if (period != null) {
            String fileName = ".chrono-dr-alert-" + target.name().replaceAll("[^A-Za-z0-9._-]", "_") + ".json";
            state = stateFile != null ? env.resolve(stateFile)
                    : export != null ? export.toAbsolutePath().resolveSibling(fileName)
                    : target.repo().path("the webhook's alert state (set monitor.alert.state_file)").resolve(fileName);
        }
        return new AlertSettings(uri, period, state, timeout);
    }

    private static Duration duration(String text, String source) {
        Double seconds;
        try {
            seconds = Unit.SECONDS.parse(text);
        } catch (IllegalArgumentException e) {
            throw ChronoException.usage(source + ": " + e.getMessage(), "use a duration such as 30s, 15m, 1h or 1d");
        }
        if (seconds == null) {
            throw ChronoException.usage(source + " needs a duration, not '" + text + "'", "use a duration such as 30s, 15m, 1h or 1d");
        }
        return Duration.ofMillis(Math.round(seconds * 1000));
    }

    @SafeVarargs
    private static <T> T first(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }
}
