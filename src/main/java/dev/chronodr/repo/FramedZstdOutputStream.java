package dev.chronodr.repo;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;

/**
 * zstd as a run of independent frames, each of {@code frameBytes} of input (the last one
 * shorter). Any zstd reader takes it as one stream (RFC 8878: a stream is a sequence of
 * frames), and {@code zstd -d} restores it unchanged; what it adds is that the frames
 * decompress on as many threads as there are cores, given where each one starts, which
 * {@link #frames()} records as it writes (the restore's copy for pg_restore -j, issue 25).
 * <p>
 * The frames are compressed side by side on {@code workers} threads, each with its own
 * one-shot compressor, and written in order; the writer waits only when every thread is busy
 * and one more frame is ready, so a frame's end never stalls what feeds it (zstd's own worker
 * threads would: ending a frame waits for its last job). Memory: two buffers of a frame (its
 * input and its bound) per thread and one more. Each frame carries its content checksum; at
 * 8 MiB per frame the size is within a few tenths of a percent of one frame's (zstd's window
 * at the default levels is 1-8 MiB).
 */
public final class FramedZstdOutputStream extends OutputStream {
    /** Input per frame: many frames to spread over the cores, each much larger than zstd's window. */
    public static final int FRAME_BYTES = 8 << 20;

    private final OutputStream sink;
    private final int frameBytes;
    private final ExecutorService pool;
    private final BlockingQueue<byte[]> inputs;
    private final BlockingQueue<byte[]> outputs;
    private final ArrayDeque<Future<Compressed>> pending = new ArrayDeque<>();
    private final int inFlight;
    private final List<BackupManifest.Frame> frames = new ArrayList<>();
    /** One compressor per thread, taken for a frame and given back; closed with the stream (their memory is native). */
    private final BlockingQueue<ZstdCompressCtx> contexts;
    private byte[] current;
    private int filled;
    private boolean closed;
    /** A write failed: what is in the sink has a gap, so close() writes nothing more. */
    private boolean failed;

    private record Compressed(byte[] input, int plain, byte[] output, int stored) {
    }

    public FramedZstdOutputStream(OutputStream sink, int level, int workers, int frameBytes) {
        if (frameBytes <= 0 || workers <= 0) {
            throw new IllegalArgumentException("frame size and workers must be positive");
        }
        this.sink = sink;
        this.frameBytes = frameBytes;
        this.inFlight = workers;
        this.pool = workers == 1 ? null : Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "zstd-frames");
            t.setDaemon(true);
            return t;
        });
        this.inputs = new ArrayBlockingQueue<>(workers + 1);
        this.outputs = new ArrayBlockingQueue<>(workers + 1);
        this.contexts = new ArrayBlockingQueue<>(workers);
        for (int i = 0; i < workers; i++) {
            contexts.add(new ZstdCompressCtx().setLevel(level).setChecksum(true));
        }
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (closed || failed) {
            throw new IOException(closed ? "stream closed" : "an earlier write failed");
        }
        boolean ok = false;
        try {
            fill(b, off, len);
            ok = true;
        } finally {
            failed = !ok;
        }
    }

    private void fill(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            if (current == null) {
                current = buffer(inputs, frameBytes);
                filled = 0;
            }
            int n = Math.min(len, frameBytes - filled);
            System.arraycopy(b, off, current, filled, n);
            filled += n;
            off += n;
            len -= n;
            if (filled == frameBytes) {
                submit();
            }
        }
    }

    /** The frame being filled goes to a compressing thread; finished frames at the head are written. */
    private void submit() throws IOException {
        byte[] input = current;
        int plain = filled;
        current = null;
        byte[] output = buffer(outputs, (int) Zstd.compressBound(frameBytes));
        if (pool == null) {
            try {
                write(compress(input, plain, output));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while compressing");
            }
            return;
        }
        pending.add(pool.submit(() -> compress(input, plain, output)));
        while (!pending.isEmpty() && (pending.size() > inFlight || pending.peek().isDone())) {
            write(await(pending.poll()));
        }
    }

    private Compressed compress(byte[] input, int plain, byte[] output) throws InterruptedException {
        ZstdCompressCtx ctx = contexts.take(); // never waits: as many as threads
        try {
            return new Compressed(input, plain, output, ctx.compressByteArray(output, 0, output.length, input, 0, plain));
        } finally {
            contexts.add(ctx);
        }
    }

    private void write(Compressed c) throws IOException {
        sink.write(c.output(), 0, c.stored());
        frames.add(new BackupManifest.Frame(c.stored(), c.plain()));
        inputs.offer(c.input());
        outputs.offer(c.output());
    }

    private static Compressed await(Future<Compressed> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while compressing");
        } catch (ExecutionException e) {
            throw new IOException("zstd failed: " + e.getCause(), e.getCause());
        }
    }

    private static byte[] buffer(BlockingQueue<byte[]> free, int size) {
        byte[] b = free.poll();
        return b != null ? b : new byte[size];
    }

    @Override
    public void flush() throws IOException {
        sink.flush(); // a frame is written whole or not at all
    }

    /** Writes the last frames (one empty frame for empty input, so the file is still zstd) and closes the sink. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (failed) {
                return; // the finally below still stops the threads and closes the sink
            }
            if (current != null || frames.isEmpty() && pending.isEmpty()) {
                if (current == null) {
                    current = buffer(inputs, frameBytes);
                    filled = 0;
                }
                submit();
            }
            boolean ok = false;
            try {
                while (!pending.isEmpty()) {
                    write(await(pending.poll()));
                }
                ok = true;
            } finally {
                failed = !ok;
            }
        } finally {
            try {
                if (pool != null) {
                    pool.shutdown(); // a frame being compressed finishes (native code does not stop mid-way); none is waiting
                    pending.forEach(f -> f.cancel(false));
                    awaitQuietly(pool);
                }
            } finally {
                contexts.forEach(ZstdCompressCtx::close);
                sink.close();
            }
        }
    }

    private static void awaitQuietly(ExecutorService pool) {
        boolean interrupted = false;
        while (true) {
            try {
                if (pool.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES)) {
                    break;
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Each frame's stored and original length, in order; complete once closed. */
    public List<BackupManifest.Frame> frames() {
        return List.copyOf(frames);
    }
}
