package dev.chronodr.maintenance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.report.TextOutput;

/**
 * Free space for VACUUM FULL, claimed table by table just before each rewrite: a table
 * whose copy (table and indexes) does not fit next to what parallel rewrites have already
 * claimed is skipped instead of filling the disk under the database.
 */
final class DiskBudget {
    private final Map<String, FreeSpace> spaces = new HashMap<>();
    private final Map<String, Long> claimed = new HashMap<>();

    DiskBudget(List<FreeSpace> spaces) {
        spaces.forEach(f -> this.spaces.put(f.tablespace(), f));
    }

    /** null when the table may go ahead (or space could not be checked); else why not. */
    synchronized String claim(TableStats t) {
        FreeSpace f = spaces.get(key(t));
        if (f == null || !f.checked()) {
            return null;
        }
        long free = current(f);
        long available = free - claimed.getOrDefault(f.tablespace(), 0L);
        if (t.totalBytes() > available) {
            return "needs " + TextOutput.bytes(t.totalBytes()) + " free for the new copy of the table and its indexes; "
                    + TextOutput.bytes(Math.max(0, available)) + " available on " + f.path();
        }
        claimed.merge(f.tablespace(), t.totalBytes(), Long::sum);
        return null;
    }

    synchronized void release(TableStats t) {
        FreeSpace f = spaces.get(key(t));
        if (f != null && f.checked()) {
            claimed.merge(f.tablespace(), -t.totalBytes(), Long::sum);
        }
    }

    private static String key(TableStats t) {
        return t.tablespace() == null ? FreeSpaceProbe.DEFAULT_TABLESPACE : t.tablespace();
    }

    private static long current(FreeSpace f) {
        try {
            return Files.getFileStore(Path.of(f.path())).getUsableSpace();
        } catch (IOException e) {
            return f.freeBytes();
        }
    }
}
