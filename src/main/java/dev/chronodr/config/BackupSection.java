package dev.chronodr.config;

import java.time.Duration;

import com.fasterxml.jackson.annotation.JsonProperty;

import dev.chronodr.core.ChronoException;

/**
 * A target's {@code backup:} section, and where its values meet the flags: flag > config >
 * built-in default, decided here for backup and cleanup alike.
 */
public final class BackupSection {
    /** Days cleanup keeps when neither --retention-days nor --keep-last is given. */
    public static final int DEFAULT_RETENTION_DAYS = 30;
    /** How long a logical backup waits for a table lock. */
    public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofSeconds(60);

    @JsonProperty("retention_days")
    public Integer retentionDays;
    /** Seconds a backup waits for a table lock. */
    @JsonProperty("lock_timeout")
    public Integer lockTimeout;

    static BackupSection of(Target target) {
        return ChronoConfig.section(target.config(), "backup", BackupSection.class).orElseGet(BackupSection::new);
    }

    /** The flag's seconds, else backup.lock_timeout, else 60 s. */
    public static Duration lockTimeout(Integer flagSeconds, Target target) {
        Integer seconds = flagSeconds != null ? flagSeconds : of(target).lockTimeout;
        if (seconds == null) {
            return DEFAULT_LOCK_TIMEOUT;
        }
        if (seconds < 1) {
            throw ChronoException.usage("config backup.lock_timeout must be 1 second or more", null);
        }
        return Duration.ofSeconds(seconds);
    }

    /**
     * The age limit cleanup applies: the flag's when either flag is given (the other may be
     * the only rule), else backup.retention_days, else 30 days.
     */
    public static Integer retentionDays(Integer flagDays, Integer flagKeepLast, Target target) {
        if (flagDays != null || flagKeepLast != null) {
            return flagDays;
        }
        Integer days = of(target).retentionDays;
        return days != null ? days : DEFAULT_RETENTION_DAYS;
    }
}
