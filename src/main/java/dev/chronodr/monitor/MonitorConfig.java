package dev.chronodr.monitor;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The {@code monitor:} section of a target in the config file (docs/monitor.md):
 *
 * <pre>
 * monitor:
 *   checks: [connection, connections, lock_waits]
 *   warning: {connections: 70%, long_query: 2m}
 *   critical: {connections: 90%}
 *   table_min_rows: 1000
 *   statement_min_calls: 5
 *   cache_hit_min_blocks: 10000
 *   alert:
 *     webhook: https://hooks.slack.com/services/...
 *     once_per: 1h
 *     state_file: /var/lib/chrono-dr/alert-prod.json
 *     timeout: 10s
 *   listen:                # monitor --listen only, see {@link ListenConfig}
 *     cache: 5m
 * </pre>
 */
public final class MonitorConfig {
    public List<String> checks;
    public Map<String, String> warning;
    public Map<String, String> critical;
    @JsonProperty("table_min_rows")
    public Long tableMinRows;
    @JsonProperty("statement_min_calls")
    public Long statementMinCalls;
    @JsonProperty("cache_hit_min_blocks")
    public Long cacheHitMinBlocks;
    public Alert alert;
    public ListenConfig listen;

    public static final class Alert {
        public String webhook;
        @JsonProperty("once_per")
        public String oncePer;
        @JsonProperty("state_file")
        public String stateFile;
        public String timeout;
    }
}
