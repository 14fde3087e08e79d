package dev.chronodr.recover;

import java.io.IOException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.chronodr.core.Json;
import dev.chronodr.repo.Repository;

/**
 * What a recover run that changed something took, kept in the repository beside the
 * backups (REPO/.recover/TIME.json) so the drill can set the last real recovery against the
 * RTO: the drill measures a restore, this is what a night actually cost. A read-only run
 * (--diagnose, a healthy server) records nothing.
 */
public record RecoveryRecord(String target, OffsetDateTime startedAt, long totalMillis, long rtoMillis, String outcome,
                             int exitCode, String failedStep, List<String> changed) {
    static final String AREA = ".recover";
    /** Records kept; older ones are removed when a new one is written. */
    static final int KEPT = 50;
    private static final Logger LOG = LoggerFactory.getLogger(RecoveryRecord.class);
    private static final DateTimeFormatter NAME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'");

    public RecoveryRecord {
        changed = List.copyOf(changed);
    }

    static RecoveryRecord of(RecoverResult r) {
        return new RecoveryRecord(r.target(), r.startedAt(), r.totalMillis(), r.rtoMillis(), r.outcome(), r.exitCode().code(),
                r.failedStep(), r.changed());
    }

    public boolean withinRto() {
        return totalMillis <= rtoMillis;
    }

    /** Keeps it; a repository that cannot take it costs a warning, never the recovery's own result. */
    void save(Repository repo) {
        try {
            String name = NAME.format(startedAt.withOffsetSameInstant(ZoneOffset.UTC)) + ".json";
            repo.writeRecord(AREA, name, Json.mapper().writeValueAsBytes(this));
            List<String> all = repo.records(AREA).stream().filter(n -> n.endsWith(".json")).sorted().toList();
            for (String old : all.subList(0, Math.max(0, all.size() - KEPT))) {
                repo.deleteRecord(AREA, old);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not keep this recovery's timing in the repository {} for the drill's report: {}", repo.location(), e.getMessage());
        }
    }

    /** The newest recovery recorded in {@code repo}, if any can be read. */
    public static Optional<RecoveryRecord> last(Repository repo) {
        try {
            List<String> all = repo.records(AREA).stream().filter(n -> n.endsWith(".json")).sorted().toList();
            for (int i = all.size() - 1; i >= 0; i--) {
                try {
                    return Optional.of(Json.mapper().readValue(repo.readRecord(AREA, all.get(i)), RecoveryRecord.class));
                } catch (IOException | RuntimeException damaged) {
                    LOG.warn("ignoring the unreadable recovery record {}: {}", all.get(i), damaged.getMessage());
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("no recovery records in {}: {}", repo.location(), e.getMessage());
        }
        return Optional.empty();
    }
}
