package dev.chronodr.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;
import dev.chronodr.report.Unit;

class ThresholdsTest {

    @Test
    void parsesTheSpellingsOfEachUnit() {
        assertEquals(80.0, Unit.PERCENT.parse("80"));
        assertEquals(99.5, Unit.PERCENT.parse("99.5%"));
        assertEquals(0.5, Unit.SECONDS.parse("500ms"));
        assertEquals(30.0, Unit.SECONDS.parse("30s"));
        assertEquals(300.0, Unit.SECONDS.parse("5m"));
        assertEquals(7200.0, Unit.SECONDS.parse("2h"));
        assertEquals(86400.0, Unit.SECONDS.parse("1d"));
        assertEquals(90.0, Unit.SECONDS.parse("PT1M30S"));
        assertEquals(16.0 * 1024 * 1024, Unit.BYTES.parse("16MB"));
        assertEquals(2.0 * 1024 * 1024 * 1024, Unit.BYTES.parse("2GiB"));
        assertEquals(42.0, Unit.COUNT.parse("42"));
        assertEquals(0.0001, Unit.PERCENT.parse("1.0E-4"), "YAML turns 0.0001 into this");
        assertNull(Unit.SECONDS.parse("off"));
        assertThrows(IllegalArgumentException.class, () -> Unit.PERCENT.parse("80 apples"));
        assertThrows(IllegalArgumentException.class, () -> Unit.SECONDS.parse("5 fortnights"));
        assertThrows(IllegalArgumentException.class, () -> Unit.BYTES.parse("-1"));
    }

    @Test
    void defaultsFollowTheRunbook() {
        Thresholds t = Thresholds.defaults();
        assertEquals(80.0, t.get("connections").warning());
        assertEquals(30.0, t.get("dead_tuples").warning());
        assertEquals(95.0, t.get("cache_hit").warning());
        assertEquals(85.0, t.get("disk").warning());
        assertEquals(300.0, t.get("replication_lag").warning());
    }

    @Test
    void higherIsWorseExceptTheCacheHitRatio() {
        Threshold c = Thresholds.defaults().get("connections");
        assertEquals(Status.OK, c.status(79.9));
        assertEquals(Status.WARNING, c.status(80));
        assertEquals(Status.CRITICAL, c.status(95));
        Threshold hit = Thresholds.defaults().get("cache_hit");
        assertEquals(Status.OK, hit.status(99));
        assertEquals(Status.WARNING, hit.status(94));
        assertEquals(Status.CRITICAL, hit.status(89));
        assertEquals("under 95%", hit.describe(Status.WARNING));
    }

    @Test
    void flagsOverrideConfigWhichOverridesDefaults() {
        Thresholds t = Thresholds.defaults()
                .override(Map.of("connections", "60%", "long_query", "1m"), "config", Map.of("connections", "70"), "config")
                .override(Map.of("connections", "50"), "--warning", Map.of(), "--critical")
                .validated();
        assertEquals(50.0, t.get("connections").warning());
        assertEquals(70.0, t.get("connections").critical());
        assertEquals(60.0, t.get("long_query").warning());
        assertNull(Thresholds.defaults().override(Map.of("disk", "off"), "x", Map.of(), "y").get("disk").warning());
    }

    @Test
    void badOverridesAreUsageErrors() {
        ChronoException unknown = assertThrows(ChronoException.class,
                () -> Thresholds.defaults().override(Map.of("conections", "5"), "--warning", Map.of(), "--critical"));
        assertEquals(ExitCode.USAGE, unknown.exitCode());
        assertTrue(unknown.hint().contains("connections"), unknown.hint());
        ChronoException value = assertThrows(ChronoException.class,
                () -> Thresholds.defaults().override(Map.of("long_query", "soon"), "--warning", Map.of(), "--critical"));
        assertEquals(ExitCode.USAGE, value.exitCode());
        ChronoException order = assertThrows(ChronoException.class,
                () -> Thresholds.defaults().override(Map.of("connections", "90"), "--warning", Map.of("connections", "85"), "--critical").validated());
        assertTrue(order.getMessage().contains("below warning"), order.getMessage());
        ChronoException lower = assertThrows(ChronoException.class,
                () -> Thresholds.defaults().override(Map.of(), "--warning", Map.of("cache_hit", "99"), "--critical").validated());
        assertTrue(lower.getMessage().contains("above warning"), lower.getMessage());
    }
}
