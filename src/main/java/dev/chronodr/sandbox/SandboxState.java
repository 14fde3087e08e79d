package dev.chronodr.sandbox;

import java.time.OffsetDateTime;

/**
 * What {@code sandbox start} left behind for later commands' {@code --sandbox}. Stored as sandbox.json.
 * A local cluster has {@code clusterDir} and {@code bin}; a container (absent in files written
 * before containers) has {@code container} and {@code image} instead.
 */
public record SandboxState(int port, String dbname, String user, String passwordFile, String repo,
                           String clusterDir, String bin, int scale, String serverVersion, OffsetDateTime createdAt,
                           String container, String image) {
    public boolean inContainer() {
        return container != null;
    }
}
