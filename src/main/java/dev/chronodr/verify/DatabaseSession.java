package dev.chronodr.verify;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.zaxxer.hikari.HikariDataSource;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ServerInfo;

/**
 * The database side of one verify run: a catalog connection, a pool of {@code --jobs}
 * connections for the per-object work, the server's description, the resolved scope and
 * the amcheck set-up. Every checking connection is read-only, has the statement timeout,
 * a lock timeout, and row security off (so a policy makes a query fail instead of quietly
 * hiding rows from a count).
 */
public final class DatabaseSession implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DatabaseSession.class);
    /** A check that waits this long for a lock is better reported as not checked. */
    static final Duration MAX_LOCK_WAIT = Duration.ofSeconds(30);

    private final ConnectionSettings settings;
    private final Connection catalog;
    private final ServerInfo server;
    private final ResolvedScope scope;
    private final int jobs;
    private final Duration statementTimeout;
    private HikariDataSource pool;
    private Amcheck amcheck;

    private DatabaseSession(ConnectionSettings settings, Connection catalog, ServerInfo server, ResolvedScope scope,
                            int jobs, Duration statementTimeout) {
        this.settings = settings;
        this.catalog = catalog;
        this.server = server;
        this.scope = scope;
        this.jobs = jobs;
        this.statementTimeout = statementTimeout;
    }

    /** Connects, describes the server and resolves the scope; a bad --tables/--schema is a usage error. */
    public static DatabaseSession open(ConnectionSettings settings, VerifyRequest request) {
        Connection c = Database.connect(settings);
        try {
            ServerInfo info = ServerInfo.probe(c);
            // Unqualified --tables names resolve on the role's own search_path, before configure() pins it.
            ResolvedScope scope = ResolvedScope.resolve(c, request.scope());
            configure(c, request.statementTimeout());
            return new DatabaseSession(settings, c, info, scope, request.jobs(), request.statementTimeout());
        } catch (SQLException e) {
            closeQuietly(c);
            throw ChronoException.critical("connected to " + settings.describe() + ", but the server did not answer: "
                    + SqlErrors.serverMessage(e), null, e);
        } catch (RuntimeException e) {
            closeQuietly(c);
            throw e;
        }
    }

    /** The session settings of every connection that checks something. */
    static void configure(Connection c, Duration statementTimeout) throws SQLException {
        long stmt = statementTimeout.toMillis();
        long lock = stmt == 0 ? MAX_LOCK_WAIT.toMillis() : Math.min(stmt, MAX_LOCK_WAIT.toMillis());
        try (Statement st = c.createStatement()) {
            st.execute("SET statement_timeout = " + stmt);
            st.execute("SET lock_timeout = " + lock);
            st.execute("SET default_transaction_read_only = on");
            st.execute("SET row_security = off");
            // Catalog names first: nothing a user created can shadow what verify calls.
            st.execute("SET search_path = pg_catalog, pg_temp");
            st.execute("SET application_name = 'chrono-dr verify'");
        }
        if (stmt > 0) { // a server that stops answering altogether is not waited for without end either
            c.setNetworkTimeout(Runnable::run, Timeouts.networkTimeoutMillis(statementTimeout));
        }
    }

    public ConnectionSettings settings() {
        return settings;
    }

    public ServerInfo server() {
        return server;
    }

    public ResolvedScope scope() {
        return scope;
    }

    public Duration statementTimeout() {
        return statementTimeout;
    }

    /** For catalog queries; read-only, with the timeouts. Do not close it. */
    public Connection catalog() {
        return catalog;
    }

    /** amcheck, created when missing and the role may; found once per run. */
    public synchronized Amcheck amcheck() throws SQLException {
        if (amcheck == null) {
            amcheck = Amcheck.prepare(this);
        }
        return amcheck;
    }

    /** Work on one object with a checking connection. */
    @FunctionalInterface
    public interface Work<I, R> {
        R apply(Connection c, I item) throws SQLException;
    }

    /** What to report for an object when no connection could be had for it. */
    @FunctionalInterface
    public interface NoConnection<I, R> {
        R apply(I item, SQLException e);
    }

    /**
     * Runs {@code work} over {@code items} on up to {@code --jobs} pooled connections, one
     * object at a time per connection; results come back in the order of the items.
     * {@code done} hears the count of finished items (for progress).
     */
    public <I, R> List<R> parallel(List<I> items, Work<I, R> work, NoConnection<I, R> failure, IntConsumer done) {
        if (items.isEmpty()) {
            return List.of();
        }
        int workers = Math.min(jobs, items.size());
        HikariDataSource ds = pool();
        Object[] results = new Object[items.size()];
        AtomicInteger next = new AtomicInteger();
        AtomicInteger finished = new AtomicInteger();
        // Once no connection can be had, the rest fail at once instead of each waiting for the pool timeout.
        AtomicReference<SQLException> unreachable = new AtomicReference<>();
        ExecutorService executor = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "chrono-dr-verify");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                futures.add(executor.submit(() -> {
                    Connection c = null;
                    try {
                        int i;
                        while ((i = next.getAndIncrement()) < items.size()) {
                            I item = items.get(i);
                            if (unreachable.get() != null) {
                                results[i] = failure.apply(item, unreachable.get());
                            } else {
                                try {
                                    if (c == null) {
                                        c = borrow(ds);
                                    }
                                    results[i] = work.apply(c, item);
                                } catch (SQLException e) {
                                    if (c == null) {
                                        unreachable.compareAndSet(null, e);
                                    } else if (SqlErrors.connectionLost(e)) {
                                        closeQuietly(c);
                                        c = null;
                                    }
                                    results[i] = failure.apply(item, e);
                                }
                            }
                            done.accept(finished.incrementAndGet());
                        }
                    } finally {
                        closeQuietly(c);
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(cause);
        } finally {
            executor.shutdownNow();
        }
        @SuppressWarnings("unchecked")
        List<R> list = (List<R>) Arrays.asList(results);
        return list;
    }

    private Connection borrow(HikariDataSource ds) throws SQLException {
        Connection c = ds.getConnection();
        try {
            configure(c, statementTimeout);
            return c;
        } catch (SQLException e) {
            closeQuietly(c);
            throw e;
        }
    }

    private synchronized HikariDataSource pool() {
        if (pool == null) {
            pool = Database.pool(settings, jobs, "chrono-dr-verify");
        }
        return pool;
    }

    @Override
    public synchronized void close() {
        if (pool != null) {
            pool.close();
            pool = null;
        }
        closeQuietly(catalog);
    }

    static void closeQuietly(Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException e) {
            log.debug("closing a connection failed: {}", e.getMessage());
        }
    }
}
