package dev.chronodr.restore;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;

import dev.chronodr.pg.Lsn;

/** Where recovery stops: a time, an LSN, a named restore point, or as soon as consistent. */
public record RecoveryTarget(Kind kind, OffsetDateTime time, Lsn lsn, String name) {
    public enum Kind { TIME, LSN, NAME, IMMEDIATE }

    private static final DateTimeFormatter PG_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSxxx");

    public static RecoveryTarget time(OffsetDateTime t) {
        return new RecoveryTarget(Kind.TIME, t, null, null);
    }

    public static RecoveryTarget lsn(Lsn l) {
        return new RecoveryTarget(Kind.LSN, null, l, null);
    }

    public static RecoveryTarget name(String n) {
        return new RecoveryTarget(Kind.NAME, null, null, n);
    }

    public static RecoveryTarget immediate() {
        return new RecoveryTarget(Kind.IMMEDIATE, null, null, null);
    }

    /** The recovery_target_* setting and its value. */
    String setting() {
        return switch (kind) {
            case TIME -> "recovery_target_time";
            case LSN -> "recovery_target_lsn";
            case NAME -> "recovery_target_name";
            case IMMEDIATE -> "recovery_target";
        };
    }

    String value() {
        return switch (kind) {
            case TIME -> time.format(PG_TIME);
            case LSN -> lsn.toString();
            case NAME -> name;
            case IMMEDIATE -> "immediate";
        };
    }

    @Override
    public String toString() {
        return setting() + " = " + value();
    }
}
