package dev.chronodr.wal;

import java.nio.file.Path;
import java.util.List;

/** What `pitr setup` should configure: the archive target, the RPO and whether to apply. */
public record PitrSetupRequest(Path repo, int rpoMinutes, List<String> launcher, boolean apply) {

    /**
     * archive_timeout: half the RPO, at least 60 s. A segment switched at archive_timeout
     * still has to pass archive_command, and a failed attempt is retried; half the RPO
     * leaves room for that, and under a minute mostly archives near-empty 16 MB segments.
     */
    public int archiveTimeoutSeconds() {
        return Math.max(60, rpoMinutes * 60 / 2);
    }
}
