package dev.chronodr.alert;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.core.Status;
import dev.chronodr.report.Unit;

/**
 * The {@code alerts:} section resolved: channels built (secrets read from their files),
 * escalation steps in order, where the escalation state is kept, and one deadline for
 * all of a run's deliveries. Anything wrong in the section is a usage error (64) naming the key.
 */
public record AlertPlan(Map<String, AlertChannel> channels, List<Step> steps, Path stateFile, Duration timeout) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(20);

    /** From {@code after} on (counted from the problem's first sighting), tell these channels about problems at least minStatus. */
    public record Step(Duration after, List<String> channels, Status minStatus) {
    }

    public AlertPlan {
        channels = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(channels));
        steps = List.copyOf(steps);
    }

    /**
     * @param defaultStateFile asked only when the section names no state_file
     */
    public static AlertPlan resolve(AlertsSection s, Environment env, Supplier<Path> defaultStateFile) {
        if (s.channels == null || s.channels.isEmpty()) {
            throw ChronoException.usage("alerts: has no channels", "name at least one under alerts.channels (type: pagerduty, email, slack or webhook)");
        }
        Map<String, AlertChannel> channels = new LinkedHashMap<>();
        s.channels.forEach((name, c) -> channels.put(name, channel(name, c, env)));
        List<Step> steps = new ArrayList<>();
        if (s.escalation == null || s.escalation.isEmpty()) {
            steps.add(new Step(Duration.ZERO, List.copyOf(channels.keySet()), Status.WARNING));
        } else {
            for (int i = 0; i < s.escalation.size(); i++) {
                steps.add(step(s.escalation.get(i), "alerts.escalation[" + i + "]", channels));
            }
        }
        Duration timeout = s.timeout == null ? DEFAULT_TIMEOUT : duration(s.timeout, "alerts.timeout");
        if (timeout.isZero()) {
            throw ChronoException.usage("alerts.timeout must be longer than 0", "e.g. timeout: 20s");
        }
        Path state = s.stateFile != null ? env.resolve(s.stateFile) : defaultStateFile.get();
        return new AlertPlan(channels, steps, state, timeout);
    }

    private static Step step(AlertsSection.Step s, String where, Map<String, AlertChannel> channels) {
        if (s == null || s.after == null) {
            throw ChronoException.usage(where + " has no 'after'", "e.g. - {after: 15m, notify: [dba]}");
        }
        if (s.notify == null || s.notify.isEmpty()) {
            throw ChronoException.usage(where + " notifies nobody", "e.g. - {after: 15m, notify: [dba]}");
        }
        for (String n : s.notify) {
            if (!channels.containsKey(n)) {
                throw ChronoException.usage(where + " names channel '" + n + "', which alerts.channels does not define",
                        "channels: " + String.join(", ", channels.keySet()));
            }
        }
        Status min = Status.WARNING;
        if (s.minStatus != null) {
            min = switch (s.minStatus.strip().toLowerCase(Locale.ROOT)) {
                case "warning" -> Status.WARNING;
                case "critical" -> Status.CRITICAL;
                default -> throw ChronoException.usage(where + ".min_status is '" + s.minStatus + "'", "use warning or critical");
            };
        }
        return new Step(duration(s.after, where + ".after"), List.copyOf(s.notify), min);
    }

    private static AlertChannel channel(String name, AlertsSection.Channel c, Environment env) {
        String where = "alerts.channels." + name;
        if (c == null || c.type == null) {
            throw ChronoException.usage(where + " has no type", "type: pagerduty, email, slack or webhook");
        }
        String type = c.type.strip().toLowerCase(Locale.ROOT);
        switch (type) {
            case "slack" -> {
                only(where, type, c.url != null, "url (the URL holds Slack's secret: put it in a file and name it with url_file)");
                only(where, type, notHttp(c), "routing_key_file, host, port, tls, trust_file, user, password_file, from, to");
                return new SlackChannel(name, url(where + ".url_file", secret(env, c.urlFile, where + ".url_file").reveal()));
            }
            case "webhook" -> {
                only(where, type, notHttp(c), "routing_key_file, host, port, tls, trust_file, user, password_file, from, to");
                if ((c.url == null) == (c.urlFile == null)) {
                    throw ChronoException.usage(where + " needs one of url or url_file", "url_file when the URL holds a token");
                }
                return new WebhookChannel(name, c.url != null ? url(where + ".url", c.url)
                        : url(where + ".url_file", secret(env, c.urlFile, where + ".url_file").reveal()));
            }
            case "pagerduty" -> {
                only(where, type, c.urlFile != null || c.host != null || c.port != null || c.tls != null || c.trustFile != null
                        || c.user != null || c.passwordFile != null || c.from != null || c.to != null,
                        "url_file, host, port, tls, trust_file, user, password_file, from, to");
                URI url = c.url == null ? PagerDutyChannel.EVENTS_V2 : url(where + ".url", c.url);
                return new PagerDutyChannel(name, url, secret(env, c.routingKeyFile, where + ".routing_key_file"));
            }
            case "email" -> {
                return email(name, where, c, env);
            }
            default -> throw ChronoException.usage(where + ".type is '" + c.type + "'", "use pagerduty, email, slack or webhook");
        }
    }

    private static AlertChannel email(String name, String where, AlertsSection.Channel c, Environment env) {
        only(where, "email", c.url != null || c.urlFile != null || c.routingKeyFile != null, "url, url_file, routing_key_file");
        if (c.host == null || c.from == null || c.to == null || c.to.isEmpty()) {
            throw ChronoException.usage(where + " needs host, from and to", "e.g. {type: email, host: smtp.example.com, from: chrono-dr@example.com, to: [dba@example.com]}");
        }
        EmailChannel.Tls tls;
        try {
            tls = c.tls == null ? EmailChannel.Tls.STARTTLS : EmailChannel.Tls.valueOf(c.tls.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ChronoException.usage(where + ".tls is '" + c.tls + "'", "use starttls (the default), smtps or none");
        }
        if ((c.user == null) != (c.passwordFile == null)) {
            throw ChronoException.usage(where + " needs both user and password_file, or neither", "the password is read from password_file");
        }
        if (tls == EmailChannel.Tls.NONE && c.user != null) {
            throw ChronoException.usage(where + " would send its password in clear (tls: none with a user)", "use tls: starttls or smtps");
        }
        if (tls == EmailChannel.Tls.NONE && c.trustFile != null) {
            throw ChronoException.usage(where + ".trust_file is only used with TLS", "use tls: starttls or smtps, or drop trust_file");
        }
        Path trust = null;
        if (c.trustFile != null) {
            trust = env.resolve(c.trustFile);
            try {
                EmailChannel.trusting(trust);
            } catch (IOException | GeneralSecurityException e) {
                throw ChronoException.usage(where + ".trust_file " + trust + " is not a readable PEM certificate file ("
                        + e.getClass().getSimpleName() + ")", "give the PEM certificate(s) of the server or its CA");
            }
        }
        for (String address : concat(c.from, c.to)) {
            try {
                new jakarta.mail.internet.InternetAddress(address, true).validate();
            } catch (jakarta.mail.internet.AddressException e) {
                throw ChronoException.usage(where + ": '" + address + "' is not an e-mail address", "e.g. dba@example.com");
            }
        }
        int port = c.port != null ? c.port : tls == EmailChannel.Tls.SMTPS ? 465 : 587;
        if (port < 1 || port > 65535) {
            throw ChronoException.usage(where + ".port " + port + " is not a port", "e.g. 587 (STARTTLS) or 465 (smtps)");
        }
        return new EmailChannel(name, c.host.strip(), port, tls, trust, c.user,
                c.passwordFile == null ? null : secret(env, c.passwordFile, where + ".password_file"), c.from, List.copyOf(c.to));
    }

    private static List<String> concat(String first, List<String> rest) {
        List<String> all = new ArrayList<>(List.of(first));
        all.addAll(rest);
        return all;
    }

    private static boolean notHttp(AlertsSection.Channel c) {
        return c.routingKeyFile != null || c.host != null || c.port != null || c.tls != null || c.trustFile != null
                || c.user != null || c.passwordFile != null || c.from != null || c.to != null;
    }

    private static void only(String where, String type, boolean misplaced, String keys) {
        if (misplaced) {
            throw ChronoException.usage(where + " (type " + type + ") has a key it does not use", "not for " + type + ": " + keys);
        }
    }

    /** The file's first line: a routing key, a password, a webhook URL. The content never appears in a message. */
    private static Secret secret(Environment env, String file, String key) {
        if (file == null) {
            throw ChronoException.usage(key + " is missing", "name the file that holds the secret");
        }
        Path path = env.resolve(file);
        String text;
        try {
            text = Files.readString(path);
        } catch (NoSuchFileException e) {
            throw ChronoException.usage(key + ": " + path + " does not exist", "create it (mode 0600) with the secret on its first line");
        } catch (IOException e) {
            throw ChronoException.usage(key + ": cannot read " + path + " (" + e.getClass().getSimpleName() + ")", null);
        }
        String first = text.lines().findFirst().orElse("").strip();
        if (first.isEmpty()) {
            throw ChronoException.usage(key + ": " + path + " is empty", "put the secret on its first line");
        }
        return Secret.of(first);
    }

    private static URI url(String key, String text) {
        URI uri;
        try {
            uri = new URI(text.strip());
        } catch (URISyntaxException e) {
            throw ChronoException.usage(key + " is not a valid URL", "give an http(s) URL");
        }
        if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
            throw ChronoException.usage(key + " must be an http or https URL with a host", "give an http(s) URL");
        }
        return uri;
    }

    static Duration duration(String text, String source) {
        Double seconds;
        try {
            seconds = Unit.SECONDS.parse(text);
        } catch (IllegalArgumentException e) {
            throw ChronoException.usage(source + ": " + e.getMessage(), "use a duration such as 0m, 30s, 15m, 1h");
        }
        if (seconds == null || seconds < 0) {
            throw ChronoException.usage(source + " needs a duration, not '" + text + "'", "use a duration such as 0m, 30s, 15m, 1h");
        }
        return Duration.ofMillis(Math.round(seconds * 1000));
    }
}
