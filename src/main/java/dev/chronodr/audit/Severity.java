package dev.chronodr.audit;

import dev.chronodr.core.ExitCode;

/** How much a finding matters. The worst one decides the exit code of an audit. */
public enum Severity {
    CRITICAL, WARNING, INFO;

    public ExitCode exitCode() {
        return switch (this) {
            case CRITICAL -> ExitCode.CRITICAL;
            case WARNING -> ExitCode.FAILED;
            case INFO -> ExitCode.OK;
        };
    }
}
