package dev.chronodr.restore;

/**
 * What to restore and where. At most one of {@code backupId}, {@code backupFile} is set;
 * neither means the newest full backup that passes its checks (--latest). {@code targetDb}
 * null means "replace the live database".
 * {@code withGlobals} first restores the backup's roles and tablespaces (a new server).
 * {@code goOnUnchecked}: when free space cannot be learned, warn and go on (--yes) instead
 * of refusing; a restore that is known not to fit is refused either way.
 * {@code allowEmpty} lets a backup without tables replace a database that has some.
 */
public record RestoreRequest(String backupId, String backupFile, String targetDb,
                             int jobs, boolean verify, boolean inPlace, boolean withGlobals, boolean goOnUnchecked,
                             boolean allowEmpty) {

    public RestoreRequest {
        if (jobs < 1) {
            throw new IllegalArgumentException("jobs must be at least 1");
        }
    }

    /** Callers from before the free-space check keep their behaviour where it cannot be learned: a warning. */
    public RestoreRequest(String backupId, String backupFile, String targetDb, int jobs, boolean verify, boolean inPlace,
                          boolean withGlobals) {
        this(backupId, backupFile, targetDb, jobs, verify, inPlace, withGlobals, true, false);
    }

    public RestoreRequest(String backupId, String backupFile, String targetDb, int jobs, boolean verify, boolean inPlace) {
        this(backupId, backupFile, targetDb, jobs, verify, inPlace, false, true, false);
    }
}
