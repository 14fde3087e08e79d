package dev.chronodr.verify;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.testing.PgCluster;

/**
 * Real damage for tests: edits PostgreSQL's data files in place while the server is
 * stopped. Pages are 8 kB with a 24-byte header followed by 4-byte line pointers
 * (lp_off: 15 bits, flags: 2 bits, lp_len: 15 bits), little-endian on x86/ARM.
 */
final class DataFiles {
    static final int PAGE = 8192;

    private DataFiles() {
    }

    /** The file of a relation's main fork, found while the server runs. */
    static Path relationFile(PgCluster pg, String db, String relation) {
        Object rel = pg.scalar(db, "SELECT pg_relation_filepath('" + relation + "')");
        return pg.dataDir().resolve(rel.toString());
    }

    /** Reads block {@code block}, lets {@code edit} change it, writes it back. */
    static void editPage(Path file, int block, Consumer<ByteBuffer> edit) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] bytes = new byte[PAGE];
            f.seek((long) block * PAGE);
            f.readFully(bytes);
            ByteBuffer page = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            edit.accept(page);
            f.seek((long) block * PAGE);
            f.write(bytes);
            f.getFD().sync();
        }
    }

    /** Number of line pointers on the page (from pd_lower). */
    static int items(ByteBuffer page) {
        int lower = Short.toUnsignedInt(page.getShort(12));
        return (lower - 24) / 4;
    }

    /** Byte offset of item {@code n} (1-based) on the page. */
    static int itemOffset(ByteBuffer page, int n) {
        int lp = page.getInt(24 + 4 * (n - 1));
        return lp & 0x7FFF;
    }

    /** Runs a server program (pg_checksums) as the postgres OS user when we are root, as the cluster does. */
    static void runServerProgram(PgCluster pg, String program, String... args) {
        List<String> argv = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            argv.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        argv.add(pg.binDir().resolve(program).toString());
        argv.addAll(List.of(args));
        new ProcessRunner(Map.copyOf(System.getenv())).run(ProcessSpec.of(argv).withTimeout(Duration.ofMinutes(2)));
    }

    /** The named check in a verify JSON report. */
    static JsonNode check(JsonNode report, String name) {
        for (JsonNode c : report.get("checks")) {
            if (c.get("name").asText().equals(name)) {
                return c;
            }
        }
        throw new AssertionError("no check " + name + " in " + report);
    }

    /** Findings of a check whose object starts with {@code prefix}. */
    static List<JsonNode> findings(JsonNode check, String prefix) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode f : check.get("findings")) {
            if (f.get("object").asText().startsWith(prefix)) {
                out.add(f);
            }
        }
        return out;
    }
}
