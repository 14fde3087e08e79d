package dev.chronodr.alert;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A target's {@code alerts:} section (docs/monitor.md, "Alerts that reach people"): named
 * channels and the escalation steps. Secrets (a webhook URL, a routing key, a password)
 * are only named here by the file that holds them.
 *
 * <pre>
 * alerts:
 *   timeout: 20s
 *   state_file: /var/lib/chrono-dr/alerts-prod.json
 *   channels:
 *     oncall: {type: pagerduty, routing_key_file: /etc/chrono-dr/pagerduty.key}
 *     dba:    {type: email, host: smtp.example.com, user: chrono, password_file: /etc/chrono-dr/smtp.pw,
 *              from: chrono-dr@example.com, to: [dba@example.com]}
 *     team:   {type: slack, url_file: /etc/chrono-dr/slack.url}
 *   escalation:
 *     - {after: 0m, notify: [oncall]}
 *     - {after: 15m, notify: [dba]}
 *     - {after: 30m, notify: [team]}
 * </pre>
 */
public final class AlertsSection {
    public String timeout;
    @JsonProperty("state_file")
    public String stateFile;
    public Map<String, Channel> channels = new LinkedHashMap<>();
    public List<Step> escalation;

    /** Every channel type's keys in one place; which apply is checked per type. */
    public static final class Channel {
        public String type;
        public String url;
        @JsonProperty("url_file")
        public String urlFile;
        @JsonProperty("routing_key_file")
        public String routingKeyFile;
        public String host;
        public Integer port;
        public String tls;
        @JsonProperty("trust_file")
        public String trustFile;
        public String user;
        @JsonProperty("password_file")
        public String passwordFile;
        public String from;
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        public List<String> to;
    }

    public static final class Step {
        public String after;
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        public List<String> notify;
        /** warning (default) or critical: a step that only pages for CRITICAL. */
        @JsonProperty("min_status")
        public String minStatus;
    }
}
