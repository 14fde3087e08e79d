package dev.chronodr.testing;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

import dev.chronodr.core.Secret;

/** The fallback server when a Docker engine exists but no local PostgreSQL binaries do. */
final class ContainerServer {
    private static PostgreSQLContainer<?> container;

    private ContainerServer() {
    }

    static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            return false;
        }
    }

    static synchronized PgCluster start() {
        PostgreSQLContainer<?> c = new PostgreSQLContainer<>("postgres:15")
                .withCommand("postgres", "-c", "fsync=off");
        c.start();
        container = c;
        return new PgCluster(c.getHost(), c.getMappedPort(5432), c.getUsername(), Secret.of(c.getPassword()));
    }

    static synchronized void stop() {
        if (container != null) {
            container.stop();
            container = null;
        }
    }
}
