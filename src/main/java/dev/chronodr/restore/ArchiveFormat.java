package dev.chronodr.restore;

/** The kinds of dump restore reads. */
public enum ArchiveFormat {
    /** pg_dump --format=custom, possibly compressed as a whole by chrono-dr (zstd/gzip). */
    CUSTOM,
    /** pg_dump --format=directory: a directory with toc.dat. */
    DIRECTORY,
    /** Plain SQL (.sql or .sql.gz), run through psql. */
    PLAIN
}
