package dev.chronodr.containers;

/** The compose deployment on PostgreSQL 17. */
class ChronoScraperCompose17Test extends ChronoScraperComposeTest {
    @Override
    int major() {
        return 17;
    }
}
