package dev.chronodr.repo;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;

import dev.chronodr.core.Background;

/**
 * An HTTP client that ends a request whose body the server has stopped taking. A read is
 * bounded by the socket timeout; a write has no such bound in {@code java.net}. A server that
 * hangs (its process stopped, its disk stuck) while a body goes up lets the send buffer fill,
 * and the write waits until the SDK's attempt timeout, 10 minutes, for each of the attempts
 * (over TLS, for ever, unless the socket lingers: {@link LingeringConnections}).
 * Here no byte taken for {@code limit} aborts the request, which then fails as a broken
 * connection does: the SDK retries it, and the last failure says how long the server took nothing.
 */
final class StallGuard implements SdkHttpClient {
    private static final ScheduledExecutorService WATCH = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "s3-stall-watch");
        t.setDaemon(true);
        return t;
    });

    private final SdkHttpClient delegate;
    private final Duration limit;

    StallGuard(SdkHttpClient delegate, Duration limit) {
        this.delegate = delegate;
        this.limit = limit;
    }

    @Override
    public ExecutableHttpRequest prepareRequest(HttpExecuteRequest request) {
        if (request.contentStreamProvider().isEmpty()) {
            return delegate.prepareRequest(request);
        }
        ContentStreamProvider body = request.contentStreamProvider().get();
        Progress progress = new Progress();
        ExecutableHttpRequest sending = delegate.prepareRequest(HttpExecuteRequest.builder()
                .request(request.httpRequest())
                .contentStreamProvider(() -> progress.watch(body.newStream()))
                .metricCollector(request.metricCollector().orElse(null))
                .build());
        return new ExecutableHttpRequest() {
            @Override
            public HttpExecuteResponse call() throws IOException {
                progress.touch();
                long tick = Math.max(10, Math.min(1000, limit.toMillis() / 4));
                ScheduledFuture<?> watch = WATCH.scheduleAtFixedRate(() -> {
                    if (progress.stalledFor() >= limit.toNanos() && progress.stall()) {
                        // on a thread of its own: closing a TLS connection under a blocked write takes its linger (1 s),
                        // and the watch has other requests to look after
                        Background.supply("s3-stall-abort", () -> {
                            sending.abort();
                            return null;
                        });
                    }
                }, tick, tick, TimeUnit.MILLISECONDS);
                try {
                    return sending.call();
                } catch (IOException | RuntimeException e) {
                    if (progress.stalled) {
                        // the closed socket's own exception is the effect, not the cause: kept for --verbose, out of the line
                        IOException stall = new Stalled("the server took no data for " + seconds(limit) + " (hung?)");
                        stall.addSuppressed(e);
                        throw stall;
                    }
                    throw e;
                } finally {
                    watch.cancel(false);
                }
            }

            @Override
            public void abort() {
                sending.abort();
            }
        };
    }

    /** A request given up on because the server took none of its body for the bound. */
    static final class Stalled extends IOException {
        Stalled(String message) {
            super(message);
        }
    }

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    @Override
    public String clientName() {
        return delegate.clientName();
    }

    @Override
    public void close() {
        delegate.close();
    }

    /** When the body was last read by the client (so taken by the socket), and whether it was all read. */
    private static final class Progress {
        private volatile long last = System.nanoTime();
        private volatile boolean sent;
        volatile boolean stalled;

        void touch() {
            last = System.nanoTime();
        }

        long stalledFor() {
            return sent ? 0 : System.nanoTime() - last;
        }

        /** Marks the request as given up on: true the first time, false once given up on or when the body was all sent. */
        synchronized boolean stall() {
            if (sent || stalled) {
                return false;
            }
            stalled = true;
            return true;
        }

        InputStream watch(InputStream in) {
            touch();
            return new FilterInputStream(in) {
                @Override
                public int read() throws IOException {
                    int b = super.read();
                    seen(b < 0 ? -1 : 1);
                    return b;
                }

                @Override
                public int read(byte[] buf, int off, int len) throws IOException {
                    int n = super.read(buf, off, len);
                    seen(n);
                    return n;
                }
            };
        }

        private void seen(int n) {
            touch();
            if (n < 0) {
                synchronized (this) {
                    sent = true;
                }
            }
        }
    }
}
