package dev.chronodr.repo;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The repository's backups with their states, and the questions every command asks of
 * them, answered the same way everywhere: "latest", "newest full" and "fresh" always mean
 * a backup of this database, of a kind that can bring it back (its own full backup, or a
 * base backup of the cluster), in a state that can be restored.
 */
public final class BackupCatalog {
    private static final Logger log = LoggerFactory.getLogger(BackupCatalog.class);
    private final Repository repo;
    private final List<StoredBackup> all;

    private BackupCatalog(Repository repo, List<StoredBackup> all) {
        this.repo = repo;
        this.all = all;
    }

    public static BackupCatalog of(Repository repo) {
        return new BackupCatalog(repo, repo.backups());
    }

    public Repository repo() {
        return repo;
    }

    /** Every backup, newest first, whatever its state. */
    public List<StoredBackup> all() {
        return all;
    }

    /** Backups that could bring {@code db} back, newest first, whatever their state. */
    public List<StoredBackup> covering(String db) {
        return all.stream().filter(b -> b.coversDatabase(db)).toList();
    }

    /** Full logical backups of {@code db}, newest first, whatever their state. */
    public List<StoredBackup> fullBackupsOf(String db) {
        return all.stream().filter(b -> b.full() && db.equals(b.database())).toList();
    }

    /** Base backups of the cluster, newest first, whatever their state. */
    public List<StoredBackup> baseBackups() {
        return all.stream().filter(StoredBackup::base).toList();
    }

    /** The newest of {@code candidates} whose state says it can be restored; no hashing. */
    public static Optional<StoredBackup> newestRestorable(List<StoredBackup> candidates) {
        return candidates.stream().filter(b -> b.state().restorable()).findFirst();
    }

    /**
     * The newest backup that passes a checksum check now, and the newer ones passed over.
     * {@code passedOver} says, for each newer candidate that was not taken, which it was and why.
     */
    public record Proof(Optional<StoredBackup> backup, List<String> passedOver, java.util.Map<String, String> failed) {
        public static Proof none() {
            return new Proof(Optional.empty(), List.of(), java.util.Map.of());
        }
    }

    /**
     * Walks {@code candidates} newest first: those whose state rules them out are passed over
     * with their reason; the others get a checksum check now (recorded beside them), and the
     * first that passes is the answer. {@code extra} adds a check of its own (a base backup's
     * WAL chain), returning the problem or null.
     */
    public Proof proveNewest(List<StoredBackup> candidates, java.util.function.Function<StoredBackup, String> extra) {
        return proveNewest(candidates, extra, b -> BackupVerifier.checksums(repo, b));
    }

    /**
     * As {@link #proveNewest(List)}, for a restore of the answer: on object storage each
     * candidate is checked by copying it into the local spool ({@link Repository#checkIntoSpool}),
     * so the backup chosen is downloaded once, not once to check and once to restore.
     */
    public Proof proveNewestForRestore(List<StoredBackup> candidates) {
        return proveNewest(candidates, null, repo::checkIntoSpool);
    }

    private Proof proveNewest(List<StoredBackup> candidates, java.util.function.Function<StoredBackup, String> extra,
                              java.util.function.Function<StoredBackup, List<String>> checksums) {
        List<String> passedOver = new ArrayList<>();
        java.util.Map<String, String> failed = new java.util.LinkedHashMap<>();
        for (StoredBackup b : candidates) {
            if (!b.state().restorable()) {
                passedOver.add(b.id() + " (" + b.state().label() + ": " + b.reason() + ")");
                continue;
            }
            List<String> problems = new ArrayList<>(checksums.apply(b));
            if (problems.isEmpty() && extra != null) {
                String more = extra.apply(b);
                if (more != null) {
                    problems.add(more);
                }
            }
            if (problems.isEmpty()) {
                return new Proof(Optional.of(b), passedOver, failed);
            }
            log.warn("backup {} failed its checks: {}", b.id(), String.join("; ", problems));
            passedOver.add(b.id() + " (damaged: " + String.join("; ", problems) + ")");
            failed.put(b.id(), String.join("; ", problems));
        }
        return new Proof(Optional.empty(), passedOver, failed);
    }

    public Proof proveNewest(List<StoredBackup> candidates) {
        return proveNewest(candidates, null);
    }

    /**
     * The catalog with the verdicts of checks run since it was read, whether or not they
     * could be recorded in the repository (a read-only copy).
     */
    public BackupCatalog withFailures(java.util.Map<String, String> failed) {
        return new BackupCatalog(repo, all.stream().map(b -> failed.containsKey(b.id())
                ? b.withState(BackupState.DAMAGED, "failed its checksum check now: " + failed.get(b.id()), null) : b).toList());
    }
}
