package dev.chronodr.monitor;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Status;
import dev.chronodr.report.Format;
import dev.chronodr.report.Renderer;

/**
 * {@code monitor --listen}: the monitor as an HTTP endpoint that Prometheus scrapes and load
 * balancers probe, on the JDK's own HTTP server.
 * <ul>
 * <li>{@code /metrics}: the pass in the text exposition format, by the same renderer and
 * with the same names as {@code --format prometheus}; always 200 when the pass ran (the
 * status is in {@code chrono_dr_status});</li>
 * <li>{@code /health}: the JSON report of {@code --format json}; 200 for OK, WARNING and
 * UNKNOWN, 503 for CRITICAL (a down database included).</li>
 * </ul>
 * One connection is held between passes ({@link HeldConnection}); concurrent scrapes share
 * the pass in flight instead of starting their own; the expensive checks are reused for
 * {@link ListenSettings#cache()} ({@link CachedCheck}); SQL texts are hidden unless
 * configured ({@link QueryTexts}).
 */
public final class MonitorListener implements AutoCloseable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MonitorListener.class);
    /** Handler threads: enough for a few scrapers and probes at once; each only waits on the shared pass. */
    private static final int HANDLERS = 16;
    private static final String NODELAY = "sun.net.httpserver.nodelay";

    private final MonitorService service = new MonitorService();
    private final MonitorRequest request;
    private final ListenSettings settings;
    private final HeldConnection connection = new HeldConnection();
    private final HttpServer server;
    private final InetSocketAddress bound;
    private final ThreadPoolExecutor handlers;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicInteger passes = new AtomicInteger();
    private final AtomicInteger scrapes = new AtomicInteger();
    private volatile Instant passStart = Instant.EPOCH;
    private CompletableFuture<MonitorReport> inFlight;

    private MonitorListener(MonitorRequest req, ListenSettings settings, HttpServer server) {
        this.settings = settings;
        this.server = server;
        this.bound = server.getAddress();
        List<HealthCheck> checks = new ArrayList<>();
        for (HealthCheck c : req.checks()) {
            boolean cached = !settings.cache().isZero() && ListenSettings.CACHED.contains(c.name());
            checks.add(cached ? new CachedCheck(c, settings.cache(), () -> passStart) : c);
        }
        // Alerts and exports belong to one-shot runs; the endpoint only answers.
        this.request = new MonitorRequest(req.target(), checks, req.settings(), null, null, null, req.runner());
        AtomicInteger n = new AtomicInteger();
        this.handlers = new ThreadPoolExecutor(HANDLERS, HANDLERS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "monitor-listen-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        handlers.allowCoreThreadTimeOut(true);
        server.setExecutor(handlers);
        server.createContext("/metrics", ex -> serve(ex, Format.PROMETHEUS));
        server.createContext("/health", ex -> serve(ex, Format.JSON));
        server.createContext("/", this::index);
    }

    /** Binds and starts serving; a port in use (or a bind refused) is a one-line failure, exit 1. */
    public static MonitorListener start(MonitorRequest req, ListenSettings settings) {
        InetSocketAddress at = settings.address();
        // The JDK's server writes headers and body in separate segments; with Nagle's algorithm on,
        // the client's delayed ACK adds ~40 ms to every scrape. Read once, when the server class loads.
        if (System.getProperty(NODELAY) == null) {
            System.setProperty(NODELAY, "true");
        }
        HttpServer server;
        try {
            server = HttpServer.create(at, 16);
        } catch (BindException e) {
            throw ChronoException.failed("cannot listen on " + hostPort(at) + ": " + bindProblem(e),
                    "is another monitor or exporter running there? pick another port with --listen");
        } catch (IOException e) {
            throw ChronoException.failed("cannot listen on " + hostPort(at) + ": " + e.getMessage(), null);
        }
        MonitorListener l = new MonitorListener(req, settings, server);
        server.start();
        return l;
    }

    private static String bindProblem(BindException e) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        return m.toLowerCase(java.util.Locale.ROOT).contains("in use") ? "the port is in use" : m;
    }

    static String hostPort(InetSocketAddress a) {
        String host = a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /** Where it listens, with the port the system chose when asked for 0. */
    public InetSocketAddress address() {
        return bound;
    }

    /**
     * One pass of the checks, shared: a scrape that arrives while a pass runs waits for
     * that pass instead of starting another, so a burst of scrapes costs one pass.
     */
    public MonitorReport pass() {
        CompletableFuture<MonitorReport> f;
        boolean mine;
        synchronized (this) {
            mine = inFlight == null;
            if (mine) {
                inFlight = new CompletableFuture<>();
            }
            f = inFlight;
        }
        if (mine) {
            try {
                passStart = Instant.now();
                MonitorReport r = service.check(request, connection);
                passes.incrementAndGet();
                f.complete(r);
            } catch (RuntimeException | Error e) {
                f.completeExceptionally(e);
            } finally {
                synchronized (this) {
                    inFlight = null;
                }
            }
        }
        try {
            return f.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
    }

    /** Passes run so far (each scrape shares one). */
    public int passes() {
        return passes.get();
    }

    /** Requests for /metrics and /health answered so far. */
    public int scrapes() {
        return scrapes.get();
    }

    /** Connections opened so far: one while the server stays up, one more after each restart. */
    int connectionsOpened() {
        return connection.opened();
    }

    /** 503 only for CRITICAL: UNKNOWN means the monitor cannot judge something, not that the database is down. */
    static int httpStatus(Status s) {
        return s == Status.CRITICAL ? 503 : 200;
    }

    private void serve(HttpExchange ex, Format format) {
        try {
            if (!ex.getRequestURI().getPath().equals(ex.getHttpContext().getPath())) {
                respond(ex, 404, "text/plain; charset=utf-8", "not found\n");
                return;
            }
            if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                respond(ex, 405, "text/plain; charset=utf-8", "GET or HEAD only\n");
                return;
            }
            scrapes.incrementAndGet();
            MonitorReport r;
            try {
                r = pass();
            } catch (RuntimeException e) {
                // A bug, not a condition: one line to the scraper, the trace to the log.
                log.warn("monitor pass failed", e);
                respond(ex, 500, "text/plain; charset=utf-8", "chrono-dr: monitor pass failed: " + Text.oneLine(String.valueOf(e.getMessage())) + "\n");
                return;
            }
            if (!settings.showQueryText()) {
                r = QueryTexts.hide(r);
            }
            StringWriter body = new StringWriter();
            new Renderer(format, false).render(r, new PrintWriter(body));
            ex.getResponseHeaders().set("X-Chrono-DR-Status", r.status().name());
            if (format == Format.PROMETHEUS) {
                respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8", body.toString());
            } else {
                respond(ex, httpStatus(r.status()), "application/json", body.toString());
            }
        } catch (IOException e) {
            log.debug("monitor: the client went away: {}", e.getMessage());
        } finally {
            ex.close();
        }
    }

    private void index(HttpExchange ex) {
        try {
            boolean root = "/".equals(ex.getRequestURI().getPath());
            respond(ex, root ? 200 : 404, "text/plain; charset=utf-8",
                    (root ? "" : "not found\n") + "chrono-dr monitor: /metrics (Prometheus), /health (JSON; 503 when CRITICAL)\n");
        } catch (IOException e) {
            log.debug("monitor: the client went away: {}", e.getMessage());
        } finally {
            ex.close();
        }
    }

    private static void respond(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        boolean head = "HEAD".equals(ex.getRequestMethod());
        ex.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** Blocks until {@link #stop()}. */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    /** Stops listening (answers in progress get a second to finish) and closes the connection. Idempotent. */
    public void stop() {
        synchronized (stopped) {
            if (stopped.getCount() == 0) {
                return;
            }
            server.stop(1);
            handlers.shutdownNow();
            connection.close();
            stopped.countDown();
        }
    }

    @Override
    public void close() {
        stop();
    }

    /** What {@code monitor --listen} reports when it stops: where it listened and how much it served. */
    public Stopped stopped() {
        return new Stopped(hostPort(address()), scrapes(), passes());
    }

    public record Stopped(String listened, int scrapes, int passes) implements dev.chronodr.report.CommandResult {
        @Override
        public dev.chronodr.core.ExitCode exitCode() {
            return dev.chronodr.core.ExitCode.OK;
        }

        @Override
        public dev.chronodr.report.TextView text() {
            return dev.chronodr.report.TextView.builder().line("stopped listening on " + listened + " after " + scrapes
                    + (scrapes == 1 ? " scrape" : " scrapes") + " (" + passes + (passes == 1 ? " pass" : " passes") + " of the checks)").build();
        }
    }
}
