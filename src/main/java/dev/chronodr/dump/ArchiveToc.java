package dev.chronodr.dump;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The table of contents of an uncompressed custom archive: every entry with its section and
 * dependencies, read from the start of the archive (only as far as the table of contents goes).
 */
public final class ArchiveToc {
    /** pg_dump's sections; NONE entries (comments, ACLs) belong to the section of the entry before them. */
    public enum Section {
        NONE, PRE_DATA, DATA, POST_DATA;

        static Section of(int n) {
            return switch (n) {
                case 1 -> NONE;
                case 2 -> PRE_DATA;
                case 3 -> DATA;
                case 4 -> POST_DATA;
                default -> throw new ArchiveFormatException("an entry has an unknown section " + n);
            };
        }
    }

    /** One entry; {@code hasData} when a data block belongs to it (TABLE DATA, BLOBS, SEQUENCE SET has none). */
    public record Entry(int dumpId, String desc, Section section, String namespace, String tag, List<Integer> dependencies,
                        boolean hasData) {
    }

    private final List<Entry> entries;
    private final Map<Integer, Section> restoredIn = new HashMap<>();

    private ArchiveToc(List<Entry> entries) {
        this.entries = List.copyOf(entries);
        Section current = Section.PRE_DATA;
        for (Entry e : this.entries) {
            if (e.section() != Section.NONE) {
                current = e.section();
            }
            restoredIn.put(e.dumpId(), current);
        }
    }

    /** The section pg_restore's --section counts an entry in: its own, or for NONE the one of the entry before it. */
    public Section restoredIn(int dumpId) {
        return restoredIn.getOrDefault(dumpId, Section.PRE_DATA);
    }

    /**
     * The ids {@code id} depends on, directly or through others; a dependency on a table counts as one
     * on its data too, as pg_restore -j has it (an index or a foreign key waits for the rows, not only
     * for CREATE TABLE).
     */
    public Set<Integer> dependencies(int id) {
        Map<Integer, Entry> byId = new HashMap<>();
        Map<String, Integer> dataOf = new HashMap<>();
        for (Entry e : entries) {
            byId.put(e.dumpId(), e);
            if (e.desc().equals("TABLE DATA")) {
                dataOf.put(e.namespace() + "\0" + e.tag(), e.dumpId());
            }
        }
        Set<Integer> out = new HashSet<>();
        Deque<Integer> todo = new ArrayDeque<>(List.of(id));
        while (!todo.isEmpty()) {
            Entry e = byId.get(todo.pop());
            if (e == null) {
                continue;
            }
            for (int d : e.dependencies()) {
                if (out.add(d)) {
                    todo.push(d);
                }
                Entry table = byId.get(d);
                Integer data = table == null || !table.desc().equals("TABLE") ? null : dataOf.get(table.namespace() + "\0" + table.tag());
                if (data != null && data != id && out.add(data)) {
                    todo.push(data);
                }
            }
        }
        return out;
    }

    /** Reads the header and table of contents from {@code in} and no further than the buffer that completes them. */
    public static ArchiveToc read(InputStream in) throws IOException {
        TocReader toc = new TocReader(CustomArchiveReader.NEWEST_KNOWN);
        byte[] buf = new byte[64 * 1024];
        try {
            for (int n; (n = in.read(buf)) > 0; ) {
                if (toc.accept(buf, 0, n)) {
                    return new ArchiveToc(toc.entries());
                }
            }
        } catch (ArchiveFormatException e) {
            throw new IOException(e.getMessage(), e);
        }
        throw new IOException("the archive ends inside its table of contents");
    }

    public List<Entry> entries() {
        return entries;
    }

    /** The TABLE DATA entry of {@code schema.table}, if the archive has its data. */
    public Optional<Entry> tableData(String schema, String table) {
        return entries.stream().filter(e -> e.hasData() && e.desc().equals("TABLE DATA") && schema.equals(e.namespace())
                && table.equals(e.tag())).findFirst();
    }

    /** The ids of {@code seeds} and of every entry that depends on one of them, directly or through others. */
    public Set<Integer> withDependents(Set<Integer> seeds) {
        Map<Integer, List<Integer>> dependents = new HashMap<>();
        for (Entry e : entries) {
            for (int d : e.dependencies()) {
                dependents.computeIfAbsent(d, k -> new java.util.ArrayList<>()).add(e.dumpId());
            }
        }
        Set<Integer> out = new HashSet<>(seeds);
        Deque<Integer> todo = new ArrayDeque<>(seeds);
        while (!todo.isEmpty()) {
            for (int d : dependents.getOrDefault(todo.pop(), List.of())) {
                if (out.add(d)) {
                    todo.push(d);
                }
            }
        }
        return out;
    }
}
