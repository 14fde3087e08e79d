package dev.chronodr.repo;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;

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

    /** zstd worker threads: compression runs beside pg_dump or the server; one extra thread keeps up on small machines. */
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

    /** Wraps a sink; closing the returned stream finishes the frame and closes the sink. */
    public OutputStream compress(OutputStream sink) throws IOException {
        return switch (method) {
            case ZSTD -> {
                ZstdOutputStream z = new ZstdOutputStream(sink, level);
                z.setChecksum(true);
                z.setWorkers(WORKERS);
                yield z;
            }
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
