package dev.chronodr.testing;

import org.testcontainers.containers.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

import dev.chronodr.core.Secret;

/**
 * A PostgreSQL server in a real container, from the locally built image of one major
 * version ({@link DockerEngine#postgresImage}); never pulled. Its SQL helpers are a
 * {@link PgCluster}'s; {@link #containerName()} is what {@code --exec docker --container} takes.
 */
public final class PgContainer implements AutoCloseable {
    private final PostgreSQLContainer<?> container;
    private final int major;
    private final PgCluster cluster;

    private PgContainer(PostgreSQLContainer<?> container, int major) {
        this.container = container;
        this.major = major;
        this.cluster = new PgCluster(container.getHost(), container.getMappedPort(5432), container.getUsername(),
                Secret.of(container.getPassword()));
    }

    public static PgContainer start(int major) {
        DockerImageName image = DockerImageName.parse(DockerEngine.postgresImage(major)).asCompatibleSubstituteFor("postgres");
        PostgreSQLContainer<?> c = new PostgreSQLContainer<>(image)
                .withImagePullPolicy(name -> false)
                .withUsername("chrono")
                .withPassword("test-" + System.nanoTime())
                .withDatabaseName("postgres")
                .withCommand("postgres", "-c", "fsync=off");
        c.start();
        return new PgContainer(c, major);
    }

    public int major() {
        return major;
    }

    /** The server as a {@link PgCluster}: host, published port, superuser, password and the SQL helpers. */
    public PgCluster cluster() {
        return cluster;
    }

    public String containerName() {
        String n = container.getContainerName();
        return n.startsWith("/") ? n.substring(1) : n;
    }

    @Override
    public void close() {
        container.stop();
    }
}
