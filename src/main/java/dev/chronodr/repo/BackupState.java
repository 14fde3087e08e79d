package dev.chronodr.repo;

import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * What a stored backup is worth, decided in one place ({@link Assessment}) and asked by every
 * command that picks, keeps or counts a backup. Damage outranks everything else: a damaged
 * schema-only backup is DAMAGED, not PARTIAL.
 */
public enum BackupState {
    /** The manifest is readable and every file it names is present in the directory at its recorded size. */
    COMPLETE,
    /** COMPLETE, and the SHA-256 of every file matched at a recorded time. */
    VERIFIED,
    /** Cannot be restored as it is: an unreadable manifest, a missing, truncated or altered file. */
    DAMAGED,
    /** Whole, but holds nothing to restore: no tables, an empty file, SQL without CREATE or COPY. */
    EMPTY,
    /** Names a path outside its directory, or holds a link: never read, never trusted. */
    FOREIGN,
    /** A schema-only or data-only backup: sound, but it cannot bring a database back by itself. */
    PARTIAL;

    /** Whole and not known to be damaged: worth keeping and counting. */
    public boolean sound() {
        return this == COMPLETE || this == VERIFIED || this == PARTIAL;
    }

    /** Can bring its database back, as far as anything short of a checksum check can tell. */
    public boolean restorable() {
        return this == COMPLETE || this == VERIFIED;
    }

    @JsonValue
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
