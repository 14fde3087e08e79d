package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.BackupManifest;
import dev.chronodr.repo.Compression;
import dev.chronodr.repo.FramedZstdOutputStream;
import dev.chronodr.repo.RepoLocation;
import dev.chronodr.repo.Repository;

/**
 * The copy a parallel restore reads, on its own (no server): what comes out, what a damaged
 * dump leaves (nothing), and what a killed restore leaves (nothing that passes for a copy).
 * Each case runs with the zstd program and with chrono-dr's in-process decoder.
 */
class UnpackedCopyTest {
    @TempDir
    Path dir;

    /** About 4 MiB that zstd takes to some 1.9 MiB: more than one of the first stage's 1 MiB chunks. */
    static byte[] content() {
        Random r = new Random(42);
        String[] words = {"pages", "scrape", "domain", "2026-12-03", "https://example.org/", "status", "200", "\t", "\n"};
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 4 << 20) {
            sb.append(words[r.nextInt(words.length)]).append(Long.toHexString(r.nextLong()));
        }
        return sb.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    static byte[] compress(Compression c, byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream z = c.compress(out)) {
            z.write(data);
        }
        return out.toByteArray();
    }

    private static String sha(byte[] b) throws Exception {
        return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** A backup directory with a manifest that records {@code manifestSha} for its dump, which holds {@code stored}. */
    private RestoreSource backup(String name, String method, byte[] stored, String manifestSha) throws IOException {
        Path b = Files.createDirectories(dir.resolve("repo").resolve(name));
        String file = "database.dump" + (method.equals("zstd") ? ".zst" : ".gz");
        Files.write(b.resolve(file), stored);
        BackupManifest m = new BackupManifest(BackupManifest.FORMAT_VERSION, name, "full", null, "db", "localhost", 5432, "15.18", 150018,
                "15.18", "test", OffsetDateTime.now(), OffsetDateTime.now(), 1, method, "custom", List.of(),
                List.of(new BackupManifest.FileEntry(file, "dump", stored.length, 0, manifestSha, method)), null);
        return new RestoreSource(name, "db", ArchiveFormat.CUSTOM, method, b.resolve(file), b, m);
    }

    private Repository repo() {
        return Repository.open(RepoLocation.local(dir.resolve("repo")));
    }

    private Path unpackDir() {
        return UnpackDir.where(dir.resolve("repo"));
    }

    /** With the zstd program on PATH, and without (chrono-dr decodes in-process). */
    private static Map<String, UnpackedCopy> decoders() {
        Map<String, UnpackedCopy> all = new LinkedHashMap<>();
        for (boolean program : new boolean[] {true, false}) {
            Map<String, String> env = new HashMap<>(System.getenv());
            if (!program) {
                env.put("PATH", "/nonexistent");
            }
            ProcessRunner runner = new ProcessRunner(env);
            all.put(program ? "zstd program" : "in-process", new UnpackedCopy(runner, new ToolLocator(runner, env)));
        }
        return all;
    }

    private List<Path> leftInUnpackDir() throws IOException {
        if (!Files.isDirectory(unpackDir())) {
            return List.of();
        }
        try (var s = Files.list(unpackDir())) {
            return s.toList();
        }
    }

    @Test
    void aWholeDumpBecomesAPrivateCopyUnderItsFinalNameOnly() throws Exception {
        byte[] data = content();
        for (var d : decoders().entrySet()) {
            for (Compression c : List.of(new Compression(Compression.Method.ZSTD, 3), new Compression(Compression.Method.GZIP, 6))) {
                String what = d.getKey() + ", " + c;
                byte[] stored = compress(c, data);
                assertTrue(stored.length > UnpackedCopy.CHUNK, "more than one chunk: " + stored.length);
                RestoreSource source = backup("ok-" + d.getKey().replace(' ', '-') + "-" + c.method(), c.method().name().toLowerCase(), stored, sha(stored));
                RestoreSource unpacked = d.getValue().make(source, repo());
                Path copy = unpacked.unpacked();
                assertEquals(UnpackDir.file(unpackDir(), source.id()), copy, what);
                assertArrayEquals(data, Files.readAllBytes(copy), what);
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)), what);
                assertEquals(List.of(copy), leftInUnpackDir(), what + ": no .part beside it");
                UnpackedCopy.delete(copy);
            }
        }
    }

    /**
     * Every kind of damage is refused with exit 1 and leaves nothing in the copy directory. The
     * re-compressed dump is the telling one: it decompresses to a perfectly restorable archive, so
     * only the SHA-256 against the manifest refuses it, and make() returning it would have let
     * pg_restore start on it.
     */
    @Test
    void aDamagedDumpIsRefusedByItsChecksumAndLeavesNoCopy() throws Exception {
        byte[] data = content();
        byte[] good = compress(new Compression(Compression.Method.ZSTD, 3), data);
        String goodSha = sha(good);
        Map<String, byte[]> damaged = new LinkedHashMap<>();
        damaged.put("first byte flipped", flip(good, 0));
        damaged.put("middle byte flipped", flip(good, good.length / 2));
        damaged.put("last byte flipped", flip(good, good.length - 1));
        damaged.put("truncated", Arrays.copyOf(good, good.length / 2));
        damaged.put("cut by one byte", Arrays.copyOf(good, good.length - 1));
        damaged.put("empty", new byte[0]);
        damaged.put("bytes after the end", Arrays.copyOf(good, good.length + 7));
        damaged.put("re-compressed (decompresses fine)", compress(new Compression(Compression.Method.ZSTD, 9), data));
        for (var d : decoders().entrySet()) {
            for (var e : damaged.entrySet()) {
                String what = d.getKey() + ", " + e.getKey();
                RestoreSource source = backup(("bad-" + d.getKey() + "-" + e.getKey()).replaceAll("[^a-z0-9]+", "-"), "zstd", e.getValue(), goodSha);
                ChronoException x = assertThrows(ChronoException.class, () -> d.getValue().make(source, repo()), what);
                assertEquals(ExitCode.FAILED, x.exitCode(), what);
                assertTrue(x.getMessage().contains("is corrupt: database.dump.zst has SHA-256 " + sha(e.getValue()))
                        && x.getMessage().contains("nothing was touched"), what + ": " + x.getMessage());
                assertEquals(List.of(), leftInUnpackDir(), what);
            }
            // Without a manifest (a loose file) the decoder's own checks are all there is: still no copy.
            RestoreSource loose = new RestoreSource("loose", null, ArchiveFormat.CUSTOM, "zstd",
                    Files.write(dir.resolve("loose.dump.zst"), damaged.get("middle byte flipped")), null, null);
            ChronoException x = assertThrows(ChronoException.class, () -> d.getValue().make(loose, repo()), d.getKey());
            assertTrue(x.getMessage().contains("corrupt or truncated") && x.getMessage().contains("nothing was touched"), x.getMessage());
            assertEquals(List.of(), leftInUnpackDir(), d.getKey() + ", loose");
        }
    }

    /** A dump written as frames of 512 KiB of input (backups use 32 MiB), with its frame table in the manifest. */
    private RestoreSource framedBackup(String name, byte[] stored, List<BackupManifest.Frame> frames, String manifestSha, long plain)
            throws IOException {
        Path b = Files.createDirectories(dir.resolve("repo").resolve(name));
        Files.write(b.resolve("database.dump.zst"), stored);
        long storedSum = frames.stream().mapToLong(BackupManifest.Frame::stored).sum();
        BackupManifest m = new BackupManifest(BackupManifest.FORMAT_VERSION, name, "full", null, "db", "localhost", 5432, "15.18", 150018,
                "15.18", "test", OffsetDateTime.now(), OffsetDateTime.now(), 1, "zstd", "custom", List.of(),
                List.of(new BackupManifest.FileEntry("database.dump.zst", "dump", storedSum, plain, manifestSha, "zstd:3", frames)), null);
        return new RestoreSource(name, "db", ArchiveFormat.CUSTOM, "zstd", b.resolve("database.dump.zst"), b, m);
    }

    private record Framed(byte[] stored, List<BackupManifest.Frame> frames) {
    }

    /** {@code data} as a backup writes it, in frames of 512 KiB of input. */
    private static Framed framed(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        FramedZstdOutputStream z = new FramedZstdOutputStream(out, 3, 2, 512 << 10);
        try (z) {
            z.write(data);
        }
        return new Framed(out.toByteArray(), z.frames());
    }

    @Test
    void aFramedDumpIsDecompressedFrameByFrameToExactlyTheArchive() throws Exception {
        byte[] data = content();
        Framed z = framed(data);
        byte[] stored = z.stored();
        assertEquals(9, z.frames().size(), "8 whole frames and the rest");
        RestoreSource source = framedBackup("framed", stored, z.frames(), sha(stored), data.length);
        assertEquals(z.frames(), UnpackedCopy.frames(source, source.manifest().file("dump")), "takes the frames path");
        Path copy = decoders().get("zstd program").make(source, repo()).unpacked();
        assertArrayEquals(data, Files.readAllBytes(copy));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)));
        assertEquals(List.of(copy), leftInUnpackDir(), "no .part beside it");
        UnpackedCopy.delete(copy);
    }

    /**
     * Damage inside a frame, or anywhere else, is refused by the dump's SHA-256 (the frames' own
     * checks stop the copy early, the hash still covers the whole file), and nothing is left.
     */
    @Test
    void aDamagedFramedDumpIsRefusedByItsChecksumAndLeavesNoCopy() throws Exception {
        byte[] data = content();
        Framed z = framed(data);
        byte[] good = z.stored();
        long second = z.frames().get(0).stored();
        Map<String, byte[]> damaged = new LinkedHashMap<>();
        damaged.put("first frame's header", flip(good, 0));
        damaged.put("inside the second frame", flip(good, (int) second + 100));
        damaged.put("the last frame's checksum", flip(good, good.length - 1));
        damaged.put("a frame boundary", flip(good, (int) second));
        damaged.put("truncated", Arrays.copyOf(good, good.length / 2));
        damaged.put("bytes after the end", Arrays.copyOf(good, good.length + 7));
        for (var e : damaged.entrySet()) {
            RestoreSource source = framedBackup("framed-bad-" + e.getKey().replaceAll("[^a-z0-9]+", "-"), e.getValue(), z.frames(), sha(good),
                    data.length);
            ChronoException x = assertThrows(ChronoException.class, () -> decoders().get("in-process").make(source, repo()), e.getKey());
            assertEquals(ExitCode.FAILED, x.exitCode(), e.getKey());
            assertTrue(x.getMessage().contains("is corrupt: database.dump.zst has SHA-256 " + sha(e.getValue()))
                    && x.getMessage().contains("nothing was touched"), e.getKey() + ": " + x.getMessage());
            assertEquals(List.of(), leftInUnpackDir(), e.getKey());
        }
    }

    /**
     * The dump is the one the manifest names (its SHA-256 matches) but the frame table does not
     * fit it: the copy falls back to one stream and is still exact. A table that cannot be right
     * (sizes that do not add up) is never tried.
     */
    @Test
    void aFrameTableThatDoesNotFitTheDumpFallsBackToOneStream() throws Exception {
        byte[] data = content();
        Framed z = framed(data);
        byte[] stored = z.stored();
        List<BackupManifest.Frame> swapped = new java.util.ArrayList<>(z.frames());
        java.util.Collections.swap(swapped, 0, swapped.size() - 1);
        List<BackupManifest.Frame> shifted = new java.util.ArrayList<>(z.frames());
        BackupManifest.Frame a = shifted.get(0);
        BackupManifest.Frame b = shifted.get(1);
        shifted.set(0, new BackupManifest.Frame(a.stored() + 10, a.plain()));
        shifted.set(1, new BackupManifest.Frame(b.stored() - 10, b.plain()));
        for (var table : Map.of("swapped", swapped, "shifted", shifted).entrySet()) {
            RestoreSource source = framedBackup("framed-table-" + table.getKey(), stored, table.getValue(), sha(stored), data.length);
            assertEquals(table.getValue(), UnpackedCopy.frames(source, source.manifest().file("dump")), "the sizes add up: tried");
            Path copy = decoders().get("in-process").make(source, repo()).unpacked();
            assertArrayEquals(data, Files.readAllBytes(copy), table.getKey());
            assertEquals(List.of(copy), leftInUnpackDir(), table.getKey());
            UnpackedCopy.delete(copy);
        }
        List<BackupManifest.Frame> tooLong = new java.util.ArrayList<>(z.frames());
        tooLong.add(new BackupManifest.Frame(5, 5));
        RestoreSource source = framedBackup("framed-table-long", stored, tooLong, sha(stored), data.length);
        assertEquals(null, UnpackedCopy.frames(source, source.manifest().file("dump")), "more frames than file: one stream");
        assertArrayEquals(data, Files.readAllBytes(decoders().get("in-process").make(source, repo()).unpacked()));
    }

    private static byte[] flip(byte[] b, int at) {
        byte[] c = b.clone();
        c[at] ^= 0x40;
        return c;
    }

    /**
     * kill -9 of the JVM in the middle of the copy: what it leaves is named .part (so no run can
     * take it for a copy; a copy under its final name exists only once verified), and the next
     * restore on this host removes it. The dump is a FIFO fed all but the end of a zstd stream, so
     * the child is certainly in the middle of the copy when it is killed.
     */
    @Test
    void aKilledCopyLeavesNothingThatPassesForACopyAndTheNextRunRemovesIt() throws Exception {
        byte[] stored = compress(new Compression(Compression.Method.ZSTD, 3), content());
        Path fifo = dir.resolve("database.dump.zst");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor());
        Path repoRoot = Files.createDirectories(dir.resolve("repo"));
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), UnpackKillProbe.class.getName(), repoRoot.toString(), fifo.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("probe.log").toFile());
        Process child = pb.start();
        Thread feeder = new Thread(() -> {
            try (OutputStream out = Files.newOutputStream(fifo)) {
                out.write(stored, 0, stored.length - (64 << 10)); // more than a chunk: the first one is handed on
                out.flush();
                Thread.sleep(60_000); // holds the rest back until the child is gone
            } catch (IOException | InterruptedException e) {
                // the child was killed: its end of the FIFO is closed
            }
        }, "fifo-feeder");
        feeder.setDaemon(true);
        feeder.start();
        try {
            Path part = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (part == null && child.isAlive() && System.nanoTime() < deadline) {
                for (Path p : leftInUnpackDir()) {
                    if (p.getFileName().toString().endsWith(".dump.part") && Files.size(p) > 0) {
                        part = p;
                    }
                }
                Thread.sleep(20);
            }
            assertTrue(part != null, "the copy never started: " + Files.readString(dir.resolve("probe.log")));
            assertTrue(leftInUnpackDir().stream().noneMatch(p -> p.getFileName().toString().endsWith(".dump")),
                    "while it is written, nothing carries a copy's final name: " + leftInUnpackDir());
            child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            assertFalse(child.isAlive());
            assertTrue(leftInUnpackDir().stream().noneMatch(p -> p.getFileName().toString().endsWith(".dump")),
                    "a killed copy leaves no file under a copy's final name: " + leftInUnpackDir());
            // The next restore on this host clears what a dead process left.
            long deadline2 = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            do {
                UnpackDir.choose(Repository.open(RepoLocation.local(repoRoot)));
            } while (!leftInUnpackDir().isEmpty() && System.nanoTime() < deadline2 && sleep());
            assertEquals(List.of(), leftInUnpackDir());
        } finally {
            child.destroyForcibly();
            feeder.interrupt();
        }
    }

    private static boolean sleep() throws InterruptedException {
        Thread.sleep(100); // the orphaned zstd may still hold the file for an instant
        return true;
    }
}
