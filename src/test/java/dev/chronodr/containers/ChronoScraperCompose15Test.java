package dev.chronodr.containers;

/** The compose deployment on PostgreSQL 15 (Chrono Scraper's version). */
class ChronoScraperCompose15Test extends ChronoScraperComposeTest {
    @Override
    int major() {
        return 15;
    }
}
