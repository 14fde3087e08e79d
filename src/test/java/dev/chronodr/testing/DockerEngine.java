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

    /** Runs the docker command line with these arguments and returns its output; a failure (or 5 minutes) fails the test. */
    public static String docker(String... args) {
        java.util.List<String> argv = new java.util.ArrayList<>(List.of("docker"));
        argv.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, java.util.concurrent.TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new AssertionError(argv + " failed: " + new String(out, java.nio.charset.StandardCharsets.UTF_8));
            }
            return new String(out, java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new AssertionError(argv + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
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
