package dev.chronodr.restore;

/**
 * What to restore and where. Exactly one of {@code latest}, {@code backupId},
 * {@code backupFile} is set; {@code targetDb} null means "replace the live database".
 */
public record RestoreRequest(boolean latest, String backupId, String backupFile, String targetDb,
                             int jobs, boolean verify, boolean inPlace) {

    public RestoreRequest {
        if (jobs < 1) {
            throw new IllegalArgumentException("jobs must be at least 1");
        }
    }
}
