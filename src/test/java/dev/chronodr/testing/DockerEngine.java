package dev.chronodr.testing;

import java.util.List;
import java.util.Optional;

import org.testcontainers.DockerClientFactory;

import com.github.dockerjava.api.exception.NotFoundException;

/**
 * Whether the container tests can run here: a Docker engine that answers, and the images
 * built from Debian's packages by {@code src/test/docker/build-images.sh} (no registry is
 * reachable, and nothing here ever pulls).
 */
public final class DockerEngine {
    public static final String BUILD_HINT = "run src/test/docker/build-images.sh (.ci/run does)";
    public static final String APP_IMAGE = "chrono-dr-test/app:latest";

    private DockerEngine() {
    }

    /** The local image of a PostgreSQL major version. */
    public static String postgresImage(int major) {
        return "chrono-dr-test/postgres:" + major;
    }

    /** Why the tests that need these images cannot run, or empty when they can. */
    public static Optional<String> unavailable(List<String> images) {
        boolean engine;
        try {
            engine = DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            engine = false;
        }
        if (!engine) {
            return Optional.of("no Docker engine answers (start dockerd; .ci/run starts one)");
        }
        for (String image : images) {
            try {
                DockerClientFactory.lazyClient().inspectImageCmd(image).exec();
            } catch (NotFoundException e) {
                return Optional.of("the image " + image + " is missing: " + BUILD_HINT);
            } catch (RuntimeException e) {
                return Optional.of("cannot inspect the image " + image + ": " + e.getMessage());
            }
        }
        return Optional.empty();
    }
}
