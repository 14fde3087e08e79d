package dev.chronodr.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.pg.ServerBinaries;

/**
 * Gives a test class one throwaway PostgreSQL server, injected as a {@link PgCluster}
 * parameter (constructor, lifecycle or test method). Local binaries first (initdb in a
 * temp dir, data checksums, a free port, as the postgres OS user when root); else a
 * Testcontainers server when a Docker engine answers; else the tests are skipped with
 * the reason. The cluster and its files are removed after the class, pass or fail.
 */
public final class PostgresExtension implements ParameterResolver, ExecutionCondition {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(PostgresExtension.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (binaries().isPresent()) {
            return ConditionEvaluationResult.enabled("local PostgreSQL binaries found");
        }
        if (ContainerServer.dockerAvailable()) {
            return ConditionEvaluationResult.enabled("no local PostgreSQL; using a Docker container");
        }
        return ConditionEvaluationResult.disabled("no PostgreSQL server binaries on this machine and no Docker engine: "
                + ServerBinaries.INSTALL_HINT);
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == PgCluster.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        ExtensionContext classContext = classContext(e);
        return classContext.getStore(NS).getOrComputeIfAbsent("cluster", k -> new Holder(start(classContext)), Holder.class).cluster;
    }

    private static ExtensionContext classContext(ExtensionContext e) {
        ExtensionContext c = e;
        while (c.getTestClass().isPresent() && c.getTestMethod().isPresent() && c.getParent().isPresent()) {
            c = c.getParent().get();
        }
        return c;
    }

    static Optional<Path> binaries() {
        return ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
    }

    private static PgCluster start(ExtensionContext context) {
        Optional<Path> bin = binaries();
        if (bin.isEmpty()) {
            return ContainerServer.start();
        }
        try {
            Path parent = Files.createTempDirectory("chrono-dr-test-");
            // The postgres OS user must be able to reach the cluster directory inside.
            Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwx--x--x"));
            LocalCluster c = LocalCluster.create(parent.resolve("pg"), bin.get(), Secret.of("test-" + System.nanoTime()),
                    LocalCluster.Options.defaults(), new ProcessRunner(Map.copyOf(System.getenv())));
            c.start();
            return new PgCluster(c);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Closes the cluster when the class's store is closed. */
    private static final class Holder implements ExtensionContext.Store.CloseableResource {
        final PgCluster cluster;

        Holder(PgCluster cluster) {
            this.cluster = cluster;
        }

        @Override
        public void close() {
            if (cluster.isLocal()) {
                LocalCluster c = cluster.assumeLocal();
                Path parent = c.base().getParent();
                c.remove();
                try {
                    Files.deleteIfExists(parent);
                } catch (IOException ignored) {
                    // a leftover empty temp dir is harmless
                }
            } else {
                ContainerServer.stop();
            }
        }
    }
}
