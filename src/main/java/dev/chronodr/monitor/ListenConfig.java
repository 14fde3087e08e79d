package dev.chronodr.monitor;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The {@code monitor.listen:} section of a target: how {@code monitor --listen} treats what it
 * serves (docs/monitor.md).
 *
 * <pre>
 * monitor:
 *   listen:
 *     cache: 5m              # how long the expensive checks' results are reused; 0 runs them every scrape
 *     show_query_text: false # true puts the sessions' and statements' SQL into /health
 * </pre>
 */
public final class ListenConfig {
    public String cache;
    @JsonProperty("show_query_text")
    public Boolean showQueryText;
}
