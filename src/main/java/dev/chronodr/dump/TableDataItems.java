package dev.chronodr.dump;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import dev.chronodr.pg.Identifiers;

/**
 * The TABLE DATA items of an uncompressed custom archive, by dump id, read from its table of
 * contents alone (the archive's first bytes): what pg_restore names as "item N" in its log.
 */
public final class TableDataItems {
    /**
     * One table's data. {@code loadsItself}: its COPY statement fills that table; false for a
     * dump made with --load-via-partition-root, whose rows go through the root to any partition.
     */
    public record Item(int dumpId, String schema, String table, boolean loadsItself) {
    }

    private TableDataItems() {
    }

    /** The items, or empty when the file is not an uncompressed custom archive this reader knows. */
    public static Optional<Map<Integer, Item>> read(Path archive) {
        TocReader toc = new TocReader(CustomArchiveReader.NEWEST_KNOWN);
        try (InputStream in = Files.newInputStream(archive)) {
            byte[] buf = new byte[64 << 10];
            boolean whole = false;
            for (int n; !whole && (n = in.read(buf)) > 0; ) {
                whole = toc.accept(buf, 0, n);
            }
            if (!whole) {
                return Optional.empty();
            }
        } catch (IOException | ArchiveFormatException e) {
            return Optional.empty();
        }
        Map<Integer, Item> items = new HashMap<>();
        for (TocReader.DataEntry e : toc.dataEntries().values()) {
            if ("TABLE DATA".equals(e.desc())) {
                items.put(e.dumpId(), new Item(e.dumpId(), e.namespace(), e.tag(), fillsItself(e)));
            }
        }
        return Optional.of(items);
    }

    /** pg_dump writes "COPY schema.table (...) FROM stdin;", each name quoted only when it must be. */
    static boolean fillsItself(TocReader.DataEntry e) {
        if (e.copyStmt() == null || e.namespace() == null || e.tag() == null || e.namespace().isEmpty() || e.tag().isEmpty()) {
            return false;
        }
        for (String schema : new String[] {e.namespace(), Identifiers.quote(e.namespace())}) {
            for (String table : new String[] {e.tag(), Identifiers.quote(e.tag())}) {
                String head = "COPY " + schema + "." + table + " ";
                if (e.copyStmt().startsWith(head)) {
                    return true;
                }
            }
        }
        return false;
    }
}
