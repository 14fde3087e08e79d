package dev.chronodr.sandbox;

import java.time.OffsetDateTime;

/** What {@code sandbox start} left behind for later commands' {@code --sandbox}. Stored as sandbox.json. */
public record SandboxState(int port, String dbname, String user, String passwordFile, String repo,
                           String clusterDir, String bin, int scale, String serverVersion, OffsetDateTime createdAt) {
}
