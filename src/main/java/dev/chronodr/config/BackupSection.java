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

    /** What cleanup keeps in one repository: younger than {@code days} and the newest {@code keepLast} (either may be null). */
    public record Rule(Integer days, Integer keepLast) {
    }

    /**
     * The rule for the repository {@code repoName} names in the target's repos: (null: the
     * target's repo): the flags when either is given, else that repository's retention:,
     * else backup.retention_days, else 30 days.
     */
    public static Rule retention(Integer flagDays, Integer flagKeepLast, Target target, String repoName) {
        if (flagDays != null || flagKeepLast != null) {
            return new Rule(flagDays, flagKeepLast);
        }
        TargetConfig.NamedRepo named = repoName == null || target.config() == null || target.config().repos == null ? null
                : target.config().repos.get(repoName);
        TargetConfig.RetentionRule r = named == null ? null : named.retention;
        if (r != null && (r.days != null || r.keepLast != null)) {
            if (r.days != null && r.days < 0 || r.keepLast != null && r.keepLast < 0) {
                throw ChronoException.usage("config repos." + repoName + ".retention: days and keep_last must be 0 or more", null);
            }
            return new Rule(r.days, r.keepLast);
        }
        return new Rule(retentionDays(null, null, target), null);
    }
}
