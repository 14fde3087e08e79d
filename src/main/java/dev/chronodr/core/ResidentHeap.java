package dev.chronodr.core;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The heap cap of a resident process that chrono-dr starts itself (the wal-fetch prefetcher),
 * by the rules the launchers apply to the others (scripts/chrono-dr, scripts/install.sh):
 * {@code -Xmx} from CHRONO_DR_RESIDENT_HEAP (at least 32m), 256m by default, and nothing when
 * the user set a heap in JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS or _JAVA_OPTIONS (a command-line
 * option would override the first two without a word, and could contradict the last).
 */
public final class ResidentHeap {
    public static final String VARIABLE = "CHRONO_DR_RESIDENT_HEAP";
    public static final String DEFAULT = "256m";
    private static final Pattern SIZE = Pattern.compile("([0-9]{1,6})([mMgG])");
    /** Any mention of a heap setting (MaxHeapSize, InitialHeapSize, MinHeapSize, MaxRAMPercentage...): then none of ours. */
    private static final List<String> USER_HEAP = List.of("-Xmx", "-Xms", "MaxRAM", "HeapSize");

    private ResidentHeap() {
    }

    /** The JVM options for a resident process started from an environment like {@code env}. */
    public static List<String> options(Environment env) {
        String user = orEmpty(env.get("JAVA_TOOL_OPTIONS")) + " " + orEmpty(env.get("JDK_JAVA_OPTIONS")) + " " + orEmpty(env.get("_JAVA_OPTIONS"));
        if (USER_HEAP.stream().anyMatch(user::contains)) {
            return List.of();
        }
        String cap = env.get(VARIABLE);
        return List.of("-Xmx" + (valid(cap) ? cap : DEFAULT));
    }

    /** A size the launchers accept: megabytes or gigabytes, at least 32m. */
    static boolean valid(String cap) {
        if (cap == null) {
            return false;
        }
        Matcher m = SIZE.matcher(cap);
        if (!m.matches()) {
            return false;
        }
        long mb = Long.parseLong(m.group(1)) * (m.group(2).equalsIgnoreCase("g") ? 1024 : 1);
        return mb >= 32;
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }
}
