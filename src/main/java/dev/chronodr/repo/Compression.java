package dev.chronodr.repo;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import com.github.luben.zstd.ZstdDirectBufferDecompressingStream;
import com.github.luben.zstd.ZstdInputStream;

import dev.chronodr.core.ChronoException;

/**
 * How chrono-dr compresses what passes through it. zstd by default: stock tools read
 * it back ({@code zstd -dc FILE | pg_restore ...}).
 */
public record Compression(Method method, int level) {

    public enum Method {
        ZSTD(".zst", 3, 1, 19), GZIP(".gz", 6, 1, 9), NONE("", 0, 0, 0);

        final String suffix;
        final int defaultLevel;
        final int min;
        final int max;

        Method(String suffix, int defaultLevel, int min, int max) {
            this.suffix = suffix;
            this.defaultLevel = defaultLevel;
            this.min = min;
            this.max = max;
        }
    }

    /** Threads compressing zstd frames side by side: compression runs beside pg_dump or the server; two keep up on small machines. */
    public static final int WORKERS = Math.min(2, Runtime.getRuntime().availableProcessors());

    public static final Compression DEFAULT = new Compression(Method.ZSTD, 3);

    /** zstd[:LEVEL] | gzip[:LEVEL] | none */
    public static Compression parse(String spec) {
        String[] parts = spec.trim().toLowerCase(Locale.ROOT).split(":", 2);
        Method m;
        try {
            m = Method.valueOf(parts[0].toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ChronoException.usage("unknown compression '" + spec + "'", "use zstd[:1-19], gzip[:1-9] or none");
        }
        int level = m.defaultLevel;
        if (parts.length == 2) {
            try {
                level = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                level = -1;
            }
            if (m == Method.NONE || level < m.min || level > m.max) {
                throw ChronoException.usage("compression level in '" + spec + "' is out of range",
                        m == Method.NONE ? "none takes no level" : "use " + m.min + " to " + m.max);
            }
        }
        return new Compression(m, level);
    }

    public String suffix() {
        return method.suffix;
    }

    @Override
    public String toString() {
        return method == Method.NONE ? "none" : method.name().toLowerCase(Locale.ROOT) + ":" + level;
    }

    /**
     * Wraps a sink; closing the returned stream finishes the stream and closes the sink. zstd is
     * written as independent frames ({@link FramedZstdOutputStream}: its {@code frames()} says where).
     */
    public OutputStream compress(OutputStream sink) throws IOException {
        return switch (method) {
            case ZSTD -> new FramedZstdOutputStream(sink, level, WORKERS, FramedZstdOutputStream.FRAME_BYTES);
            case GZIP -> new GZIPOutputStream(sink, 1 << 16) {
                {
                    def.setLevel(level);
                }
            };
            case NONE -> sink;
        };
    }

    public static InputStream decompress(Method method, InputStream in) throws IOException {
        return switch (method) {
            case ZSTD -> new ZstdInputStream(in);
            case GZIP -> new GZIPInputStream(in, 1 << 16);
            case NONE -> in;
        };
    }

    /**
     * Decompresses a whole stream into a channel (the restore's copy for pg_restore -j; the
     * caller hashes what it feeds in). zstd goes through direct buffers (no copies through the
     * Java heap: about a third faster than the stream); returns the bytes written. Bytes left in
     * {@code in} after the compressed stream are the caller's to check.
     */
    public static long unpack(Method method, ReadableByteChannel in, WritableByteChannel out) throws IOException {
        ByteBuffer dst = ByteBuffer.allocateDirect(1 << 20);
        long written = 0;
        if (method == Method.ZSTD) {
            ByteBuffer src = ByteBuffer.allocateDirect(1 << 20).flip();
            boolean[] end = {false};
            try (ZstdDirectBufferDecompressingStream z = new ZstdDirectBufferDecompressingStream(src) {
                @Override
                protected ByteBuffer refill(ByteBuffer b) {
                    try {
                        b.compact();
                        end[0] |= in.read(b) < 0;
                        return b.flip();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            }) {
                while (z.hasRemaining()) {
                    int n = z.read(dst.clear());
                    // A truncated frame never finishes: the stream would ask for input that is not coming, forever.
                    if (n == 0 && end[0] && !src.hasRemaining()) {
                        throw new IOException("the zstd stream is truncated");
                    }
                    written += drain(dst.flip(), out);
                }
            } catch (UncheckedIOException e) {
                throw e.getCause();
            } catch (RuntimeException e) {
                throw new IOException("not a valid zstd stream: " + e.getMessage(), e); // zstd-jni reports bad frames unchecked
            }
            return written;
        }
        InputStream unclosed = new java.io.FilterInputStream(Channels.newInputStream(in)) {
            @Override
            public void close() {
                // the caller's channel: it checks what is left in it
            }
        };
        try (InputStream s = decompress(method, unclosed)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = s.read(buf)) > 0; ) {
                written += drain(ByteBuffer.wrap(buf, 0, n), out);
            }
        }
        return written;
    }

    private static int drain(ByteBuffer b, WritableByteChannel out) throws IOException {
        int n = b.remaining();
        while (b.hasRemaining()) {
            out.write(b);
        }
        return n;
    }

    /** By file name: .zst, .gz, else none. */
    public static Method ofFile(String name) {
        if (name.endsWith(".zst")) {
            return Method.ZSTD;
        }
        if (name.endsWith(".gz")) {
            return Method.GZIP;
        }
        return Method.NONE;
    }
}
