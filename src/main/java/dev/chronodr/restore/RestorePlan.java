package dev.chronodr.restore;

import java.util.List;

/**
 * Everything decided before anything is changed: the mode, the backup, the names the restore
 * will use, what the user confirms and what is checked on the way. Planning connects to
 * nothing and changes nothing; {@link RestoreService#execute} carries the plan out.
 *
 * @param database         the live database (the target's database)
 * @param restoredInto     where the restored data ends up: the new database, else the live name
 * @param stagingDatabase  replace: the database restored into and verified before the swap; else null
 * @param previousDatabase replace: the name the current database is kept under; else null
 * @param stamp            the time in the derived names (yyyyMMdd_HHmmss, UTC)
 * @param checks           what is checked, in order, before and after the data is written
 */
public record RestorePlan(RestoreMode mode, RestoreRequest request, RestoreSource source, String database, String restoredInto,
                          String stagingDatabase, String previousDatabase, String stamp, List<String> checks) {

    public RestorePlan {
        checks = List.copyOf(checks);
    }

    /** Replacing or dropping the live database needs a typed YES or --yes; a new database beside it does not. */
    public boolean needsConfirmation() {
        return mode != RestoreMode.NEW_DATABASE;
    }

    /** Completes "This will ...". */
    public String confirmationAction() {
        return switch (mode) {
            case IN_PLACE -> "DROP database " + database + " and restore " + source.id() + " in its place (a safety backup is taken first)";
            case REPLACE -> "replace database " + database + " with backup " + source.id() + " (the current one is kept as " + database
                    + "_pre_restore_...)";
            case NEW_DATABASE -> "restore backup " + source.id() + " into the new database " + restoredInto;
        };
    }
}
