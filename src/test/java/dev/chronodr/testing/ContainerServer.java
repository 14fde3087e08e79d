package dev.chronodr.testing;

import java.util.List;

/**
 * The fallback server when a Docker engine exists but no local PostgreSQL binaries do:
 * the locally built PostgreSQL 15 image (src/test/docker/build-images.sh), never pulled.
 */
final class ContainerServer {
    private static PgContainer container;

    private ContainerServer() {
    }

    static boolean dockerAvailable() {
        return DockerEngine.unavailable(List.of(DockerEngine.postgresImage(15))).isEmpty();
    }

    static synchronized PgCluster start() {
        container = PgContainer.start(15);
        return container.cluster();
    }

    static synchronized void stop() {
        if (container != null) {
            container.close();
            container = null;
        }
    }
}
