package dev.chronodr.pg;

/** Where PostgreSQL's own tools run. */
public enum ExecMode {
    /** Binaries on this machine, matched to the server's major version. */
    LOCAL,
    /** {@code docker compose exec -T SERVICE ...} */
    COMPOSE,
    /** {@code docker exec -i CONTAINER ...} */
    DOCKER;

    public static ExecMode parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw dev.chronodr.core.ChronoException.usage(
                    "unknown exec mode '" + text + "'", "use one of: local, compose, docker");
        }
    }
}
