package dev.chronodr.monitor;

import java.util.List;
import java.util.Map;

/**
 * What the command line said, unresolved; every field may be null or empty. Resolved
 * against the target's config and the environment by {@link MonitorRequest#resolve}.
 *
 * @param health the runbook's --health: all checks
 */
public record MonitorOptions(List<String> checks, boolean health, Map<String, String> warning, Map<String, String> critical,
                             String export, String alertWebhook, String alertOncePer, String alertStateFile) {

    public static MonitorOptions none() {
        return new MonitorOptions(List.of(), false, Map.of(), Map.of(), null, null, null, null);
    }
}
