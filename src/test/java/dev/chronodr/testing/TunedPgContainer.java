package dev.chronodr.testing;

import java.util.ArrayList;
import java.util.List;

import org.testcontainers.containers.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

import dev.chronodr.core.Secret;

/**
 * A {@link PgContainer} started with server settings of its own ({@code -c name=value}, as
 * the official image passes extra arguments to postgres), for tests that need, say,
 * {@code shared_preload_libraries}. The test class starts it and must {@link #close()} it
 * in its {@code @AfterAll}. Never pulled.
 */
public final class TunedPgContainer implements AutoCloseable {
    private final PostgreSQLContainer<?> container;
    private final PgCluster cluster;

    private TunedPgContainer(PostgreSQLContainer<?> container) {
        this.container = container;
        this.cluster = new PgCluster(container.getHost(), container.getMappedPort(5432), container.getUsername(),
                Secret.of(container.getPassword()));
    }

    /** @param settings "name=value" pairs, each passed as {@code -c name=value} */
    public static TunedPgContainer start(int major, String... settings) {
        List<String> command = new ArrayList<>(List.of("postgres", "-c", "fsync=off"));
        for (String s : settings) {
            command.add("-c");
            command.add(s);
        }
        DockerImageName image = DockerImageName.parse(DockerEngine.postgresImage(major)).asCompatibleSubstituteFor("postgres");
        PostgreSQLContainer<?> c = new PostgreSQLContainer<>(image)
                .withImagePullPolicy(name -> false)
                .withUsername("chrono")
                .withPassword("test-" + System.nanoTime())
                .withDatabaseName("postgres")
                .withCommand(command.toArray(String[]::new));
        try {
            c.start();
        } catch (RuntimeException e) {
            c.stop();
            throw e;
        }
        return new TunedPgContainer(c);
    }

    public PgCluster cluster() {
        return cluster;
    }

    @Override
    public void close() {
        container.stop();
    }
}
