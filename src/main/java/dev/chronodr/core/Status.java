package dev.chronodr.core;

import java.util.Collection;

/** Status of one check, as monitoring systems know it. */
public enum Status {
    OK, WARNING, CRITICAL, UNKNOWN, SKIPPED;

    public ExitCode exitCode() {
        return switch (this) {
            case OK, SKIPPED -> ExitCode.OK;
            case WARNING -> ExitCode.FAILED;
            case CRITICAL -> ExitCode.CRITICAL;
            case UNKNOWN -> ExitCode.UNKNOWN;
        };
    }

    /** Ordering for "worst first": CRITICAL, UNKNOWN, WARNING, SKIPPED, OK. */
    public int rank() {
        return switch (this) {
            case CRITICAL -> 4;
            case UNKNOWN -> 3;
            case WARNING -> 2;
            case SKIPPED -> 1;
            case OK -> 0;
        };
    }

    public static Status worst(Collection<Status> statuses) {
        Status worst = OK;
        for (Status s : statuses) {
            if (s.rank() > worst.rank()) {
                worst = s;
            }
        }
        return worst;
    }
}
