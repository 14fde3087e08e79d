package dev.chronodr.containers;

/** {@link VersionDifferencesTest} on PostgreSQL 15. */
class VersionDifferences15Test extends VersionDifferencesTest {
    @Override
    int major() {
        return 15;
    }
}
