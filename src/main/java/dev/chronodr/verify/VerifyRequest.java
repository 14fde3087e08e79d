package dev.chronodr.verify;

import java.time.Duration;
import java.util.Set;

/**
 * What the user asked {@code verify} to do. {@code only} empty means every check;
 * {@code statementTimeout} zero means no limit; {@code dataDir} is the data directory as
 * the tool runner sees it (on this host, or inside the container), or null.
 */
public record VerifyRequest(Scope scope, Set<String> only, Set<String> skip, int jobs, Duration statementTimeout,
                            String dataDir) {
    public static final Duration DEFAULT_STATEMENT_TIMEOUT = Duration.ofMinutes(5);
    public static final int MAX_JOBS = 32;

    public VerifyRequest {
        scope = scope == null ? Scope.all() : scope;
        only = only == null ? Set.of() : Set.copyOf(only);
        skip = skip == null ? Set.of() : Set.copyOf(skip);
        statementTimeout = statementTimeout == null ? DEFAULT_STATEMENT_TIMEOUT : statementTimeout;
    }
}
