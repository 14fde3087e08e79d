package dev.chronodr.process;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way chrono-dr starts a process. Every stream gets its own thread, and all of
 * them are joined before the exit code is read, so no output is lost and no child
 * blocks on a full pipe. A failing stream handler kills the child (a full disk while
 * compressing must not leave pg_dump blocked forever).
 */
public final class ProcessRunner {
    private static final Logger log = LoggerFactory.getLogger(ProcessRunner.class);
    private static final int STDERR_TAIL_BYTES = 16 * 1024;
    /** How often the child's own children are noted while it runs. */
    private static final long WATCH_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /** How long the output may stay open after the child exited before what it started is ended. */
    private static final Duration ORPHAN_GRACE = Duration.ofSeconds(5);
    private static final int CAPTURE_LIMIT_BYTES = 64 * 1024 * 1024;

    private final Map<String, String> baseEnv;

    /** @param baseEnv the environment children inherit (the entry point's, not System.getenv() directly) */
    public ProcessRunner(Map<String, String> baseEnv) {
        this.baseEnv = Map.copyOf(baseEnv);
    }

    public Map<String, String> baseEnv() {
        return baseEnv;
    }

    /** Runs and returns the result whatever the exit code; throws only if it could not run or timed out. */
    /**
     * Starts a program that outlives this one (wal-fetch's look-ahead, which must go on after
     * restore_command returned): same environment rules, stdin from /dev/null, both outputs
     * appended to {@code output}; not waited for. Its pid.
     */
    public long startDetached(ProcessSpec spec, Path output) {
        ProcessBuilder pb = builder(spec);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()));
        try {
            return pb.start().pid();
        } catch (IOException e) {
            throw new ProcessFailedException(spec.program(), -1, "cannot start " + spec.argv().get(0) + ": " + e.getMessage(), false, e);
        }
    }

    /** The argv, the environment (the entry point's, less what the spec unsets, plus its own) and the directory. */
    private ProcessBuilder builder(ProcessSpec spec) {
        ProcessBuilder pb = new ProcessBuilder(spec.argv());
        Map<String, String> env = pb.environment();
        env.clear();
        env.putAll(baseEnv);
        spec.unsetEnv().forEach(env::remove);
        env.putAll(spec.env());
        if (spec.workDir() != null) {
            pb.directory(spec.workDir().toFile());
        }
        return pb;
    }

    public ProcessResult execute(ProcessSpec spec) {
        long started = System.nanoTime();
        ProcessBuilder pb = builder(spec);
        if (spec.stdin() == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        log.debug("running {}", spec.argv());
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new ProcessFailedException(spec.program(), -1, "cannot start " + spec.argv().get(0) + ": " + e.getMessage(), false, e);
        }

        AtomicReference<Throwable> handlerFailure = new AtomicReference<>();
        TailBuffer stderr = new TailBuffer(STDERR_TAIL_BYTES);
        ByteArrayOutputStream captured = new ByteArrayOutputStream();

        Thread errThread = start(spec.program() + "-stderr", () -> pumpStderr(process.getErrorStream(), stderr, spec), handlerFailure, process);
        Thread outThread = start(spec.program() + "-stdout", () -> {
            try (InputStream in = process.getInputStream()) {
                if (spec.stdout() != null) {
                    spec.stdout().readFrom(in);
                    in.transferTo(OutputStream.nullOutputStream());
                } else {
                    copyBounded(in, captured);
                }
            }
        }, handlerFailure, process);
        Thread inThread = null;
        if (spec.stdin() != null) {
            inThread = start(spec.program() + "-stdin", () -> {
                try (OutputStream out = process.getOutputStream()) {
                    spec.stdin().writeTo(out);
                } catch (IOException e) {
                    // A child that stops reading (or dies) says so with its exit code; the pipe's error adds nothing.
                    if (!closedByReader(e)) {
                        throw e;
                    }
                    log.debug("{} stopped reading its stdin: {}", spec.program(), e.getMessage());
                }
            }, handlerFailure, process);
        }

        boolean finished = false;
        // what the child started, seen while it ran: once it is gone they are no longer its descendants,
        // and one that keeps its output open (pg_basebackup's WAL streamer when pg_basebackup is killed)
        // would keep the readers below waiting for ever
        Map<Long, ProcessHandle> children = new java.util.HashMap<>();
        long deadline = System.nanoTime() + spec.timeout().toNanos();
        try {
            while (true) {
                process.descendants().forEach(h -> children.putIfAbsent(h.pid(), h));
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                if (process.waitFor(Math.min(left, WATCH_NANOS), TimeUnit.NANOSECONDS)) {
                    finished = true;
                    break;
                }
            }
        } catch (InterruptedException e) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            children.values().forEach(ProcessHandle::destroyForcibly);
            Thread.currentThread().interrupt();
            joinQuietly(errThread, outThread, inThread);
            throw new ProcessFailedException(spec.program(), -1, stderr.text(), false, e);
        }
        if (!finished) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        if (!joinWithin(ORPHAN_GRACE, errThread, outThread, inThread)) {
            // The child has exited and its output is not finished: a reader still busy with what it read (an
            // upload's last part), or a process the child started that outlived it and holds its stdout or
            // stderr open. Those are ended; the readers then see the end of their streams.
            List<ProcessHandle> left = children.values().stream().filter(ProcessHandle::isAlive).toList();
            if (!left.isEmpty()) {
                log.warn("{} has exited; ending {} process(es) it started that kept its output open (pid {})", spec.program(), left.size(),
                        left.stream().map(ProcessHandle::pid).toList());
                left.forEach(ProcessHandle::destroyForcibly);
            }
            joinQuietly(errThread, outThread, inThread);
        }
        int exit = finished ? process.exitValue() : -1;
        if (!finished) {
            throw new ProcessFailedException(spec.program(), exit, stderr.text(), true, null);
        }
        Throwable failure = handlerFailure.get();
        if (failure != null) {
            throw new ProcessFailedException(spec.program(), exit, stderr.text(), false, failure);
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
        log.debug("{} exited {} after {} ms", spec.program(), exit, elapsed.toMillis());
        return new ProcessResult(exit, captured.toString(StandardCharsets.UTF_8), stderr.text(), elapsed);
    }

    /** Runs and throws {@link ProcessFailedException} unless the child exits 0. */
    public ProcessResult run(ProcessSpec spec) {
        ProcessResult result = execute(spec);
        if (!result.succeeded()) {
            throw new ProcessFailedException(spec.program(), result.exitCode(), result.stderrTail(), false, null);
        }
        return result;
    }

    private interface StreamTask {
        void run() throws Exception;
    }

    private static Thread start(String name, StreamTask task, AtomicReference<Throwable> failure, Process process) {
        Thread t = new Thread(() -> {
            try {
                task.run();
            } catch (Throwable e) {
                // A broken pipe after the child died is a consequence, not the cause: keep the first failure.
                failure.compareAndSet(null, e);
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void pumpStderr(InputStream in, TailBuffer tail, ProcessSpec spec) throws IOException {
        try (in) {
            // A line's bytes are decoded once it is whole: a character split between two reads stays one character
            // (a newline byte never occurs inside a UTF-8 sequence).
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                tail.write(buf, n);
                if (spec.stderrLines() != null) {
                    for (int i = 0; i < n; i++) {
                        byte b = buf[i];
                        if (b == '\n' || b == '\r') {
                            if (line.size() > 0) {
                                spec.stderrLines().accept(line.toString(StandardCharsets.UTF_8));
                                line.reset();
                            }
                        } else {
                            line.write(b);
                        }
                    }
                }
            }
            if (spec.stderrLines() != null && line.size() > 0) {
                spec.stderrLines().accept(line.toString(StandardCharsets.UTF_8));
            }
        }
    }

    private static void copyBounded(InputStream in, ByteArrayOutputStream out) throws IOException {
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) {
            if (out.size() + n > CAPTURE_LIMIT_BYTES) {
                throw new IOException("output larger than " + CAPTURE_LIMIT_BYTES + " bytes; stream it instead");
            }
            out.write(buf, 0, n);
        }
    }

    /** True when every thread ended within {@code limit}. */
    private static boolean joinWithin(Duration limit, Thread... threads) {
        long deadline = System.nanoTime() + limit.toNanos();
        for (Thread t : threads) {
            if (t == null) {
                continue;
            }
            try {
                long left = deadline - System.nanoTime();
                if (left > 0) {
                    t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            if (t.isAlive()) {
                return false;
            }
        }
        return true;
    }

    private static void joinQuietly(Thread... threads) {
        for (Thread t : threads) {
            if (t == null) {
                continue;
            }
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Whether a write to a child's stdin failed only because the child stopped reading
     * (pg_restore --list exits once it has the table of contents): "Broken pipe" while it
     * runs, "Stream closed" once it has exited. Either is no error for such readers.
     */
    public static boolean closedByReader(java.io.IOException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
        return m.contains("broken pipe") || m.contains("stream closed") || m.contains("pipe closed");
    }

    /** Keeps the last N bytes of a stream. */
    private static final class TailBuffer {
        private final byte[] ring;
        private long total;

        TailBuffer(int size) {
            ring = new byte[size];
        }

        synchronized void write(byte[] buf, int n) {
            for (int i = 0; i < n; i++) {
                ring[(int) (total++ % ring.length)] = buf[i];
            }
        }

        synchronized String text() {
            int len = (int) Math.min(total, ring.length);
            byte[] out = new byte[len];
            long start = total - len;
            for (int i = 0; i < len; i++) {
                out[i] = ring[(int) ((start + i) % ring.length)];
            }
            return new String(out, StandardCharsets.UTF_8);
        }
    }
}
