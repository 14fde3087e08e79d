package dev.chronodr.restore;

/**
 * Where a logical restore puts the data, decided from the request before anything is touched.
 * The label is the word results and messages have always used.
 */
public enum RestoreMode {
    /** --target-db: a new database beside the live one; nothing else is touched. */
    NEW_DATABASE("beside"),
    /** The default: restore into a staging database, verify it, then swap it in by renames. */
    REPLACE("replace"),
    /** --in-place: safety backup, drop the live database, recreate it and restore into it. */
    IN_PLACE("in-place");

    private final String label;

    RestoreMode(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    static RestoreMode of(RestoreRequest req) {
        return req.targetDb() != null ? NEW_DATABASE : req.inPlace() ? IN_PLACE : REPLACE;
    }
}
