package dev.chronodr.repo;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

import com.github.luben.zstd.ZstdOutputStream;

/**
 * zstd as a run of independent frames, each of {@code frameBytes} of input (the last one
 * shorter). Any zstd reader takes it as one stream (RFC 8878: a stream is a sequence of
 * frames), and {@code zstd -d} restores it unchanged; what it adds is that the frames
 * decompress on as many threads as there are cores, given where each one starts, which
 * {@link #frames()} records as it writes (the restore's copy for pg_restore -j, issue 25).
 * Each frame carries its content checksum and is compressed by zstd's own worker threads; at
 * 32 MiB per frame the size is within 0.1% of one frame's.
 */
public final class FramedZstdOutputStream extends OutputStream {
    /** Input per frame. Large enough that the frames cost nothing in size, small enough to spread over the cores. */
    public static final int FRAME_BYTES = 32 << 20;

    private final Counting sink;
    private final int level;
    private final int workers;
    private final long frameBytes;
    private final List<BackupManifest.Frame> frames = new ArrayList<>();
    private ZstdOutputStream frame;
    private long inFrame;
    private long frameStart;
    private boolean closed;

    public FramedZstdOutputStream(OutputStream sink, int level, int workers, long frameBytes) {
        if (frameBytes <= 0) {
            throw new IllegalArgumentException("frame size must be positive");
        }
        this.sink = new Counting(sink);
        this.level = level;
        this.workers = workers;
        this.frameBytes = frameBytes;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new IOException("stream closed");
        }
        while (len > 0) {
            if (frame == null) {
                open();
            }
            int n = (int) Math.min(len, frameBytes - inFrame);
            frame.write(b, off, n);
            inFrame += n;
            off += n;
            len -= n;
            if (inFrame == frameBytes) {
                endFrame();
            }
        }
    }

    private void open() throws IOException {
        frame = new ZstdOutputStream(sink, level);
        frame.setChecksum(true);
        if (workers > 1) {
            frame.setWorkers(workers);
        }
        frameStart = sink.count;
        inFrame = 0;
    }

    /** Ends the frame: zstd's close writes its end and checksum, and leaves the sink open (see Counting). */
    private void endFrame() throws IOException {
        frame.close();
        frames.add(new BackupManifest.Frame(sink.count - frameStart, inFrame));
        frame = null;
    }

    @Override
    public void flush() throws IOException {
        if (frame != null) {
            frame.flush();
        }
        sink.flush();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (frame == null && frames.isEmpty()) {
                open(); // empty input: one empty frame, so the file is still zstd
            }
            if (frame != null) {
                endFrame();
            }
        } finally {
            sink.out().close();
        }
    }

    /** Each frame's stored and original length, in order; complete once closed. */
    public List<BackupManifest.Frame> frames() {
        return List.copyOf(frames);
    }

    /** Counts what reaches the sink; a frame's close does not close it. */
    private static final class Counting extends FilterOutputStream {
        long count;

        Counting(OutputStream out) {
            super(out);
        }

        OutputStream out() {
            return out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
