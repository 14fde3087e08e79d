package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.github.luben.zstd.Zstd;

/**
 * A dump written as independent frames is still one zstd stream to every reader chrono-dr and
 * its users have (zstd-jni's two decoders, the zstd program), and its frame table says exactly
 * where each frame starts and what it holds: each one decompresses on its own to its part.
 */
class FramedZstdOutputStreamTest {
    @TempDir
    Path dir;

    private static byte[] content(int size) {
        Random r = new Random(7);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < size) {
            sb.append("row ").append(r.nextInt(1000)).append('\t').append(Long.toHexString(r.nextLong())).append('\n');
        }
        return Arrays.copyOf(sb.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII), size);
    }

    private record Written(byte[] stored, List<BackupManifest.Frame> frames) {
    }

    /** Written in uneven pieces, so that writes straddle the frame boundaries. */
    private static Written write(byte[] data, int frameBytes, int workers) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        FramedZstdOutputStream z = new FramedZstdOutputStream(out, 3, workers, frameBytes);
        Random r = new Random(1);
        for (int at = 0; at < data.length; ) {
            int n = Math.min(data.length - at, 1 + r.nextInt(300_000));
            z.write(data, at, n);
            at += n;
        }
        z.close();
        return new Written(out.toByteArray(), z.frames());
    }

    @Test
    void framesAddUpAndEachDecompressesOnItsOwnToItsPart() throws Exception {
        byte[] data = content((5 << 20) + 12345);
        for (int workers : new int[] {1, 2}) {
            Written w = write(data, 1 << 20, workers);
            assertEquals(6, w.frames().size(), "5 whole frames of 1 MiB and the rest");
            assertEquals(w.stored().length, w.frames().stream().mapToLong(BackupManifest.Frame::stored).sum());
            assertEquals(data.length, w.frames().stream().mapToLong(BackupManifest.Frame::plain).sum());
            assertEquals(12345, w.frames().get(5).plain());
            int storedAt = 0;
            int plainAt = 0;
            for (BackupManifest.Frame f : w.frames()) {
                byte[] frame = Arrays.copyOfRange(w.stored(), storedAt, storedAt + (int) f.stored());
                byte[] plain = Zstd.decompress(frame, (int) f.plain());
                assertArrayEquals(Arrays.copyOfRange(data, plainAt, plainAt + (int) f.plain()), plain);
                storedAt += (int) f.stored();
                plainAt += (int) f.plain();
            }
        }
    }

    @Test
    void everyReaderTakesTheFramesAsOneStream() throws Exception {
        byte[] data = content((3 << 20) + 7);
        Written w = write(data, 1 << 20, 2);
        try (var in = Compression.decompress(Compression.Method.ZSTD, new ByteArrayInputStream(w.stored()))) {
            assertArrayEquals(data, in.readAllBytes(), "zstd-jni's stream");
        }
        ByteArrayOutputStream unpacked = new ByteArrayOutputStream();
        long n = Compression.unpack(Compression.Method.ZSTD, Channels.newChannel(new ByteArrayInputStream(w.stored())),
                Channels.newChannel(unpacked));
        assertEquals(data.length, n);
        assertArrayEquals(data, unpacked.toByteArray(), "zstd-jni's direct-buffer stream");
        Path file = Files.write(dir.resolve("d.zst"), w.stored());
        Process p = new ProcessBuilder("zstd", "-q", "-d", "-c", file.toString()).redirectOutput(dir.resolve("d").toFile()).start();
        assertEquals(0, p.waitFor(), "zstd -d");
        assertArrayEquals(data, Files.readAllBytes(dir.resolve("d")), "the zstd program");
    }

    @Test
    void anExactMultipleEndsWithoutAnEmptyFrameAndEmptyInputIsStillZstd() throws Exception {
        Written exact = write(content(2 << 20), 1 << 20, 1);
        assertEquals(List.of(1L << 20, 1L << 20), exact.frames().stream().map(BackupManifest.Frame::plain).toList());
        Written empty = write(new byte[0], 1 << 20, 1);
        assertEquals(1, empty.frames().size());
        assertEquals(0, empty.frames().get(0).plain());
        try (var in = Compression.decompress(Compression.Method.ZSTD, new ByteArrayInputStream(empty.stored()))) {
            assertEquals(0, in.readAllBytes().length);
        }
    }

    /**
     * A sink that fails (a full disk under the backup) fails the write that reached it; the
     * stream then refuses further writes, and close() writes nothing more (what is in the sink has
     * a gap), stops its threads and closes the sink.
     */
    @Test
    void aFailingSinkFailsTheWriteAndCloseWritesNothingMore() throws Exception {
        int[] writes = {0};
        boolean[] closed = {false};
        OutputStream sink = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (++writes[0] >= 2) {
                    throw new IOException("No space left on device");
                }
            }

            @Override
            public void close() {
                closed[0] = true;
            }
        };
        FramedZstdOutputStream z = new FramedZstdOutputStream(sink, 3, 2, 64 << 10);
        byte[] data = content(2 << 20);
        IOException x = assertThrows(IOException.class, () -> {
            for (int at = 0; at < data.length; at += 16 << 10) {
                z.write(data, at, 16 << 10);
            }
        });
        assertTrue(x.getMessage().contains("No space left"), x.getMessage());
        int seen = writes[0];
        assertThrows(IOException.class, () -> z.write(1), "refuses writes after a failure");
        z.close();
        assertEquals(seen, writes[0], "close wrote nothing more");
        assertTrue(closed[0]);
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals("zstd-frames") && t.isAlive()
                && t.getState() != Thread.State.TERMINATED && t.getState() == Thread.State.RUNNABLE), "no compressing thread left running");
    }

    @Test
    void closingClosesTheSinkOnceAndAClosedStreamRefusesWrites() throws Exception {
        int[] closes = {0};
        OutputStream sink = new ByteArrayOutputStream() {
            @Override
            public void close() {
                closes[0]++;
            }
        };
        FramedZstdOutputStream z = new FramedZstdOutputStream(sink, 3, 1, 1 << 10);
        z.write(content(5000));
        assertEquals(0, closes[0], "a frame's end leaves the sink open");
        z.close();
        z.close();
        assertEquals(1, closes[0]);
        assertThrows(IOException.class, () -> z.write(1));
        assertTrue(z.frames().size() == 5);
    }
}
