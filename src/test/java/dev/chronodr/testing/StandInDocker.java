package dev.chronodr.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A stand-in for {@code docker exec -i -e VAR... CONTAINER TOOL ARGS} (no engine here): it
 * checks the docker words and that every named variable came through the environment,
 * then runs the tool from {@code binDir} against the test cluster, as the container
 * would, with {@code -p} pointed at the cluster's port on 127.0.0.1.
 */
public final class StandInDocker {
    private StandInDocker() {
    }

    public static Path write(Path dir, Path binDir, int port) throws IOException {
        Path fake = dir.resolve("docker");
        Files.writeString(fake, """
                #!/bin/bash
                [ "$1" = exec ] || exit 90
                shift; [ "$1" = -i ] || exit 91; shift
                while [ "$1" = -e ]; do shift; [ -n "${!1}" ] || { echo "missing env $1" >&2; exit 92; }; shift; done
                shift  # the container's name
                tool="$1"; shift
                args=(); while [ $# -gt 0 ]; do
                  if [ "$1" = -p ]; then args+=(-p %d -h 127.0.0.1); shift 2; else args+=("$1"); shift; fi
                done
                exec "%s/$tool" "${args[@]}"
                """.formatted(port, binDir));
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        return fake;
    }
}
