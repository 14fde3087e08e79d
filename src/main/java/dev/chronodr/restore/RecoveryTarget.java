package dev.chronodr.restore;

import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Lsn;

/**
 * Where recovery stops: a time, an LSN, a named restore point, as soon as consistent, or
 * LATEST: at the end of everything archived, the partial segment of wal-receive included.
 */
public record RecoveryTarget(Kind kind, OffsetDateTime time, Lsn lsn, String name) {
    public enum Kind { TIME, LSN, NAME, IMMEDIATE, LATEST }

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

    public static RecoveryTarget latest() {
        return new RecoveryTarget(Kind.LATEST, null, null, null);
    }

    public static RecoveryTarget immediate() {
        return new RecoveryTarget(Kind.IMMEDIATE, null, null, null);
    }

    /**
     * The target as the user wrote it: a timestamp, else an LSN, else a restore point's name;
     * none of them means as soon as consistent. A time of {@code latest} means the end of the
     * archive. Bad input is a usage error (exit 64).
     */
    public static RecoveryTarget parse(String time, String lsn, String name) {
        if (time != null && time.strip().equalsIgnoreCase("latest")) {
            return latest();
        }
        if (time != null) {
            return time(parseTime(time));
        }
        if (lsn != null) {
            if (!Lsn.valid(lsn)) {
                throw ChronoException.usage("--target-lsn '" + lsn + "' is not an LSN", "write it as X/Y in hex, e.g. 0/3000060");
            }
            return lsn(Lsn.parse(lsn));
        }
        return name != null ? name(name) : immediate();
    }

    /** '2025-08-27 10:00:00' in the local time zone, or ISO-8601 with an offset (2025-08-27T10:00:00+02:00). */
    public static OffsetDateTime parseTime(String s) {
        String v = s.trim();
        try {
            return OffsetDateTime.parse(v.replace(' ', 'T'));
        } catch (DateTimeParseException e) {
            try {
                return LocalDateTime.parse(v.replace(' ', 'T'), DateTimeFormatter.ISO_LOCAL_DATE_TIME)
                        .atZone(ZoneId.systemDefault()).toOffsetDateTime();
            } catch (DateTimeParseException e2) {
                throw ChronoException.usage("--point-in-time '" + s + "' is not a timestamp",
                        "use 'YYYY-MM-DD HH:MM:SS' (local time) or ISO-8601 with an offset");
            }
        }
    }

    /** The recovery_target_* setting and its value; none for LATEST, which replays to the end of the archived WAL. */
    String setting() {
        return switch (kind) {
            case LATEST -> null;
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
            case LATEST -> null;
        };
    }

    @Override
    public String toString() {
        if (kind == Kind.LATEST) {
            return "latest (the end of the archived WAL, partial segment included)";
        }
        return setting() + " = " + value();
    }
}
