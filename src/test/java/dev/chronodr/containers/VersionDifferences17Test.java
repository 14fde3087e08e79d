package dev.chronodr.containers;

/** {@link VersionDifferencesTest} on PostgreSQL 17. */
class VersionDifferences17Test extends VersionDifferencesTest {
    @Override
    int major() {
        return 17;
    }
}
