package dev.chronodr.testing;

/** For tests that manage their own clusters (the sandbox) but share the skip rule. */
public final class PgClusterAccess {
    private PgClusterAccess() {
    }

    public static boolean hasLocalBinaries() {
        return PostgresExtension.binaries().isPresent();
    }
}
