package dev.chronodr.schedule;

import java.nio.file.Path;
import java.util.List;

import dev.chronodr.config.ScheduleSection;

/**
 * What to generate: the flavour, for which target, with which launcher and working
 * directory, and the flags every job carries to reach the same database and repository
 * (absolute paths, never a password). {@code repo} is the local repository directory the
 * jobs write to (null for object storage): systemd must be told it may be written, as it
 * must be told about the Docker socket when the tools run through compose or docker.
 */
public record ScheduleRequest(Flavour flavour, String target, Path launcher, Path workingDir, List<String> carried,
                              Path configFile, Path repo, String runAs, boolean dockerSocket, ScheduleSection section) {
    public ScheduleRequest {
        carried = List.copyOf(carried);
    }

    /** What the schedule is written for. */
    public enum Flavour {
        CRON("cron"), SYSTEMD("systemd"), KUBERNETES("kubernetes");

        private final String label;

        Flavour(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static Flavour parse(String s) {
            for (Flavour f : values()) {
                if (f.label.equalsIgnoreCase(s)) {
                    return f;
                }
            }
            return null;
        }
    }
}
