package dev.chronodr.wal;

import java.nio.file.Path;
import java.time.Duration;

import dev.chronodr.config.Target;

/**
 * What wal-receive streams and where: the target's server and repository, a private local
 * spool directory (never inside the repository), the replication slot, the
 * application_name the server sees (what synchronous_standby_names names), how often the
 * segment being received is stored as NAME.partial, and the longest wait between reconnects.
 */
public record WalReceiveRequest(Target target, Path spool, String slot, String applicationName, Duration partialInterval,
                                boolean synchronous, Duration maxBackoff) {
    public static final String DEFAULT_SLOT = "chrono_dr";

    public WalReceiveRequest {
        if (slot == null || !slot.matches("[a-z0-9_]{1,63}")) {
            throw dev.chronodr.core.ChronoException.usage("--slot '" + slot + "' is not a replication slot name",
                    "use 1 to 63 lower-case letters, digits and underscores, e.g. " + DEFAULT_SLOT);
        }
        if (partialInterval == null || partialInterval.isNegative() || partialInterval.isZero()) {
            throw dev.chronodr.core.ChronoException.usage("--partial-interval must be at least 1 second", null);
        }
        applicationName = applicationName == null ? slot : applicationName;
        maxBackoff = maxBackoff == null ? Duration.ofSeconds(30) : maxBackoff;
    }
}
