package dev.chronodr.wal;

import java.nio.file.Path;
import java.util.List;

import dev.chronodr.repo.RepoLocation;

/**
 * What `pitr setup` should configure: the archive target, the RPO and whether to apply;
 * with {@code streaming}, what wal-receive needs instead ({@code slotKeepMb}: the
 * max_slot_wal_keep_size to set when it is unlimited; {@code synchronousStandby}: the
 * application_name to list in synchronous_standby_names, null to leave it); {@code encryptTo}:
 * the public key files archive_command's wal-push encrypts each segment to (empty: none).
 * {@code repo}: a directory, or s3://BUCKET/PREFIX (then nothing is prepared on this host, and
 * the server's environment must carry the bucket's settings: see the result's notes).
 */
public record PitrSetupRequest(RepoLocation repo, int rpoMinutes, List<String> launcher, boolean apply, boolean streaming, long slotKeepMb,
                               String synchronousStandby, List<Path> encryptTo) {

    public PitrSetupRequest {
        encryptTo = encryptTo == null ? List.of() : List.copyOf(encryptTo);
    }

    /** For a repository directory. */
    public PitrSetupRequest(Path repo, int rpoMinutes, List<String> launcher, boolean apply, boolean streaming, long slotKeepMb,
                            String synchronousStandby, List<Path> encryptTo) {
        this(RepoLocation.local(repo), rpoMinutes, launcher, apply, streaming, slotKeepMb, synchronousStandby, encryptTo);
    }

    public PitrSetupRequest(Path repo, int rpoMinutes, List<String> launcher, boolean apply) {
        this(repo, rpoMinutes, launcher, apply, false, 0, null, List.of());
    }

    public PitrSetupRequest(Path repo, int rpoMinutes, List<String> launcher, boolean apply, boolean streaming, long slotKeepMb,
                            String synchronousStandby) {
        this(repo, rpoMinutes, launcher, apply, streaming, slotKeepMb, synchronousStandby, List.of());
    }

    /**
     * archive_timeout: half the RPO, at least 60 s. A segment switched at archive_timeout
     * still has to pass archive_command, and a failed attempt is retried; half the RPO
     * leaves room for that, and under a minute mostly archives near-empty 16 MB segments.
     */
    public int archiveTimeoutSeconds() {
        return Math.max(60, rpoMinutes * 60 / 2);
    }
}
