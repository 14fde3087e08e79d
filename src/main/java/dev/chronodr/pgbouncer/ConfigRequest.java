package dev.chronodr.pgbouncer;

import java.nio.file.Path;

import dev.chronodr.config.Target;
import dev.chronodr.core.Environment;

/**
 * {@code chrono-dr pgbouncer config}: the target, where the two files go, whether to set up
 * auth_query instead of listing every user, and whether files chrono-dr did not write may be replaced.
 */
public record ConfigRequest(Target target, Path outDir, boolean authQuery, boolean force, Environment env) {
}
