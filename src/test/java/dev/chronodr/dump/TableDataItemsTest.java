package dev.chronodr.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.pg.Identifiers;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * Which table each TABLE DATA item of a custom archive fills, from its table of contents: what
 * the drill needs to read a table back as soon as pg_restore says "finished item N".
 */
@PostgresTest
class TableDataItemsTest {
    private static final String DB = "items_db";
    private static final String SCHEMA = "Ödd \"Sché ma\" ✓";
    private static final String TABLE = "Tâble 'q' \"名前\" x";

    @Test
    void everyTableDataItemNamesItsTableAndAPartitionRootDumpIsNotTrusted(PgCluster pg, @TempDir Path dir) throws Exception {
        pg.createDatabase(DB);
        pg.execute(DB, """
                CREATE SCHEMA %1$s;
                CREATE TABLE %2$s (id int PRIMARY KEY);
                INSERT INTO %2$s SELECT generate_series(1, 10);
                CREATE TABLE plain (id int);
                CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
                CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
                CREATE TABLE events_other PARTITION OF events DEFAULT;
                INSERT INTO events SELECT g, DATE '2024-01-01' + g * 3 FROM generate_series(1, 200) g;
                """.formatted(Identifiers.quote(SCHEMA), Identifiers.qualified(SCHEMA, TABLE)));
        ProcessRunner runner = new ProcessRunner(pg.env(DB));
        Path own = dump(pg, runner, dir.resolve("own.dump"), "-Z0");
        Map<Integer, TableDataItems.Item> items = TableDataItems.read(own).orElseThrow();
        Map<String, Boolean> byTable = items.values().stream().collect(Collectors.toMap(i -> i.schema() + "." + i.table(),
                TableDataItems.Item::loadsItself));
        assertEquals(Map.of(SCHEMA + "." + TABLE, true, "public.plain", true, "public.events_2024", true, "public.events_other", true),
                byTable);
        // the dump ids are pg_restore's item numbers
        String list = runner.run(ProcessSpec.of(pg.binDir().resolve("pg_restore").toString(), "--list", own.toString())).stdout();
        for (TableDataItems.Item i : items.values()) {
            assertTrue(list.lines().anyMatch(l -> l.startsWith(i.dumpId() + "; ") && l.contains(" TABLE DATA ")), i + "\n" + list);
        }

        Path viaRoot = dump(pg, runner, dir.resolve("root.dump"), "-Z0", "--load-via-partition-root");
        Map<String, Boolean> rooted = TableDataItems.read(viaRoot).orElseThrow().values().stream()
                .collect(Collectors.toMap(i -> i.table(), TableDataItems.Item::loadsItself));
        assertEquals(false, rooted.get("events_2024"), "its rows go through events, to any partition: " + rooted);
        assertEquals(false, rooted.get("events_other"), rooted.toString());
        assertEquals(true, rooted.get("plain"), rooted.toString());
    }

    @Test
    void aCompressedDamagedEmptyOrForeignFileGivesNothing(PgCluster pg, @TempDir Path dir) throws Exception {
        pg.createDatabase("items_other");
        pg.execute("items_other", "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)");
        ProcessRunner runner = new ProcessRunner(pg.env("items_other"));
        Path compressed = dump(pg, runner, dir.resolve("gz.dump"));
        assertEquals(Optional.empty(), TableDataItems.read(compressed), "pg_dump's own compression: not read");
        Path whole = dump(pg, runner, dir.resolve("z0.dump"), "-Z0");
        assertEquals(1, TableDataItems.read(whole).orElseThrow().size());
        byte[] bytes = Files.readAllBytes(whole);
        assertEquals(Optional.empty(), TableDataItems.read(Files.write(dir.resolve("cut.dump"), Arrays.copyOf(bytes, 60))), "truncated");
        assertEquals(Optional.empty(), TableDataItems.read(Files.write(dir.resolve("empty.dump"), new byte[0])), "empty");
        assertEquals(Optional.empty(), TableDataItems.read(Files.writeString(dir.resolve("foreign.dump"), "PK\u0003\u0004 not an archive")),
                "foreign");
        assertEquals(Optional.empty(), TableDataItems.read(dir.resolve("missing.dump")), "missing");
        assertFalse(TableDataItems.read(whole).orElseThrow().values().iterator().next().schema().isEmpty());
    }

    private static Path dump(PgCluster pg, ProcessRunner runner, Path file, String... options) {
        List<String> argv = new java.util.ArrayList<>(List.of(pg.binDir().resolve("pg_dump").toString(), "-Fc", "-f", file.toString()));
        argv.addAll(List.of(options));
        runner.run(ProcessSpec.of(argv));
        return file;
    }
}
