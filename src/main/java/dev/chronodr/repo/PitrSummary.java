package dev.chronodr.repo;

import java.util.List;
import java.util.Optional;

/**
 * What a listing shows of point-in-time recovery: how many base backups and archived WAL
 * segments there are, the oldest and newest segment, and the window recovery can reach.
 */
public record PitrSummary(int baseBackups, int walSegments, long walBytes, String oldestSegment, String newestSegment,
                          String earliestReachable, String latestReachable) {

    /** Empty when the catalog holds neither a base backup nor archived WAL. */
    public static Optional<PitrSummary> of(PitrCatalog pitr) {
        if (pitr.bases().isEmpty() && pitr.wal().isEmpty()) {
            return Optional.empty();
        }
        List<WalArchive.Entry> segments = pitr.wal().stream().filter(WalArchive.Entry::isSegment).toList();
        return Optional.of(new PitrSummary(pitr.bases().size(), segments.size(),
                segments.stream().mapToLong(WalArchive.Entry::storedBytes).sum(),
                segments.isEmpty() ? null : segments.get(0).name(), segments.isEmpty() ? null : segments.get(segments.size() - 1).name(),
                pitr.earliestReachable().map(Object::toString).orElse(null), pitr.latestReachable().map(Object::toString).orElse(null)));
    }
}
