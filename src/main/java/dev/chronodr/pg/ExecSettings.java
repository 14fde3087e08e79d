package dev.chronodr.pg;

import java.nio.file.Path;

/**
 * How tools are run. In compose and docker modes the tool runs inside the container,
 * so it connects with the in-container host and port ({@code containerHost} may be null:
 * the container's local socket).
 */
public record ExecSettings(ExecMode mode, String composeService, Path composeFile, String container,
                           String containerHost, int containerPort, String dockerBinary) {

    public static ExecSettings local() {
        return new ExecSettings(ExecMode.LOCAL, null, null, null, null, 5432, "docker");
    }
}
