package dev.chronodr.monitor;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Where alerts go and how often the same one may repeat.
 *
 * @param oncePer   null: alert on every run that is WARNING or CRITICAL
 * @param stateFile where the last alert sent is remembered (used only with oncePer)
 */
public record AlertSettings(URI webhook, Duration oncePer, Path stateFile, Duration timeout) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    /** scheme://host[:port] only: a Slack-style webhook carries its secret in the path. */
    public String displayWebhook() {
        return webhook.getScheme() + "://" + webhook.getHost() + (webhook.getPort() < 0 ? "" : ":" + webhook.getPort());
    }
}
