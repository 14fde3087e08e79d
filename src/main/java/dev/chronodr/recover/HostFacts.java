package dev.chronodr.recover;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import dev.chronodr.report.TextOutput;

/** Free memory and disk on this machine, read without running anything. */
final class HostFacts {
    private HostFacts() {
    }

    /** MemAvailable of MemTotal, from /proc/meminfo; "unknown" elsewhere. */
    static String memory() {
        try {
            long total = -1;
            long available = -1;
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    total = kib(line);
                } else if (line.startsWith("MemAvailable:")) {
                    available = kib(line);
                }
            }
            return total < 0 || available < 0 ? "unknown"
                    : TextOutput.bytes(available) + " available of " + TextOutput.bytes(total);
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    /** Usable space on the filesystem of {@code dir} (or of its nearest existing parent). */
    static long usableBytes(Path dir) {
        Path p = dir.toAbsolutePath();
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        if (p == null) {
            return -1;
        }
        try {
            FileStore store = Files.getFileStore(p);
            return store.getUsableSpace();
        } catch (IOException e) {
            return -1;
        }
    }

    static String disk(Path dir) {
        long free = usableBytes(dir);
        return free < 0 ? "unknown" : TextOutput.bytes(free) + " free at " + dir;
    }

    private static long kib(String line) {
        List<String> parts = List.of(line.trim().split("\\s+"));
        return Long.parseLong(parts.get(1)) * 1024;
    }
}
