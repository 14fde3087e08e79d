package dev.chronodr.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A target's {@code schedule:} section: when each job runs (crontab(5) times or "off") and
 * how the generated cron lines, systemd units and Kubernetes CronJobs run it. Every field
 * is optional; the defaults are the runbook's crontab.
 */
public final class ScheduleSection {
    public static final String MONITOR = "*/5 * * * *";
    public static final String BACKUP = "0 2 * * *";
    public static final String VACUUM = "0 3 * * 0";
    public static final String DR_TEST = "0 4 1 * *";
    public static final String LOG_DIR = "/var/log/chrono-dr";

    public String monitor;
    public String backup;
    public String vacuum;
    @JsonProperty("dr_test")
    public String drTest;
    /** Where cron appends each job's output (systemd and Kubernetes keep their own logs). */
    @JsonProperty("log_dir")
    public String logDir;
    /** cron's MAILTO: where cron mails a job's errors. */
    public String mailto;
    /** The OS user the jobs run as (systemd User=, the /etc/cron.d user field); default: the one generating them. */
    public String user;
    /** The directory the jobs run in (relative paths in the config resolve against it); default: the current one. */
    @JsonProperty("working_dir")
    public String workingDir;
    public Kubernetes kubernetes;
    /** Also a resident unit for {@code wal-receive} (systemd only; default off). */
    @JsonProperty("wal_receive")
    public Boolean walReceive;
    /** Also a resident unit for {@code monitor --listen} at this [HOST:]PORT (systemd only; default none). */
    @JsonProperty("monitor_listen")
    public String monitorListen;

    /** Where the CronJobs run and what they mount. */
    public static final class Kubernetes {
        public static final String NAME = "chrono-dr";

        public String namespace;
        /** An image with chrono-dr and PostgreSQL's client tools on PATH. */
        public String image;
        /** The Secret holding the database password, and its key. */
        public String secret;
        @JsonProperty("secret_key")
        public String secretKey;
        /** The ConfigMap holding the config file (mounted at /etc/chrono-dr). */
        @JsonProperty("config_map")
        public String configMap;
        /** The PersistentVolumeClaim holding the repository (mounted at the repository's path). */
        @JsonProperty("repo_claim")
        public String repoClaim;
    }

    public static ScheduleSection of(Target target) {
        return target == null ? new ScheduleSection()
                : ChronoConfig.section(target.config(), "schedule", ScheduleSection.class).orElseGet(ScheduleSection::new);
    }
}
