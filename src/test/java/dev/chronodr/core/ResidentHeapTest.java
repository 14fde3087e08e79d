package dev.chronodr.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The prefetcher's heap cap follows the launchers' rules (scripts/chrono-dr). */
class ResidentHeapTest {
    private static List<String> options(Map<String, String> vars) {
        return ResidentHeap.options(new Environment(vars, Path.of("/")));
    }

    @Test
    void theCapIsTheVariableWhenValidElseTheDefaultAndNoneWhenTheUserSetAHeap() {
        assertEquals(List.of("-Xmx256m"), options(Map.of()));
        assertEquals(List.of("-Xmx1g"), options(Map.of("CHRONO_DR_RESIDENT_HEAP", "1g")));
        assertEquals(List.of("-Xmx96m"), options(Map.of("CHRONO_DR_RESIDENT_HEAP", "96m")));
        assertEquals(List.of("-Xmx32m"), options(Map.of("CHRONO_DR_RESIDENT_HEAP", "32m")));
        for (String bad : List.of("8m", "31m", "0g", "00g", "256MB", "512", "", "1.5g", "9999999m", "-1m")) {
            assertEquals(List.of("-Xmx256m"), options(Map.of("CHRONO_DR_RESIDENT_HEAP", bad)), bad);
        }
        // a heap the user chose wins: a command-line -Xmx would override it without a word
        assertEquals(List.of(), options(Map.of("JAVA_TOOL_OPTIONS", "-Xmx1g")));
        assertEquals(List.of(), options(Map.of("JAVA_TOOL_OPTIONS", "-Dx=y -Xms512m", "CHRONO_DR_RESIDENT_HEAP", "64m")));
        assertEquals(List.of(), options(Map.of("JDK_JAVA_OPTIONS", "-XX:MaxRAMPercentage=10")));
        assertEquals(List.of(), options(Map.of("_JAVA_OPTIONS", "-Xms512m")));
        assertEquals(List.of(), options(Map.of("JAVA_TOOL_OPTIONS", "-XX:MinHeapSize=64m")));
        assertEquals(List.of("-Xmx256m"), options(Map.of("JAVA_TOOL_OPTIONS", "-Dchrono.x=1 -XX:+UseSerialGC")));
    }
}
