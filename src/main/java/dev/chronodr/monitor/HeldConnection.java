package dev.chronodr.monitor;

import java.sql.Connection;
import java.sql.SQLException;

import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;

/**
 * The one connection a resident monitor keeps between passes. It is not tested before use
 * (that would cost a round trip per scrape): when the first query of a pass fails on it
 * (the server restarted), the service asks for a {@link #replace replacement} and tries
 * once more, so the pass after a restart succeeds, and a pass while the server is down
 * fails to connect at once (connection CRITICAL). A network timeout bounds a query on a
 * connection whose peer vanished without a word, so a scrape never hangs. Passes are
 * serialized by the caller.
 */
final class HeldConnection implements MonitorService.Connections, AutoCloseable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(HeldConnection.class);
    /** Above the monitor's statement_timeout (10 s), so only a dead peer reaches it. */
    private static final int NETWORK_TIMEOUT_MS = 30_000;

    private Connection held;
    private int opened;

    @Override
    public synchronized Connection open(ConnectionSettings cs) {
        if (held != null && !closed(held)) {
            return held;
        }
        return connect(cs);
    }

    @Override
    public synchronized Connection replace(ConnectionSettings cs, Connection broken) {
        log.info("monitor: the connection to {} was lost; reconnecting", cs.describe());
        MonitorService.close(broken);
        held = null;
        return connect(cs);
    }

    private Connection connect(ConnectionSettings cs) {
        MonitorService.close(held);
        held = null;
        Connection c = Database.connect(cs);
        try {
            c.setNetworkTimeout(Runnable::run, NETWORK_TIMEOUT_MS);
        } catch (SQLException e) {
            MonitorService.close(c);
            throw Database.connectionFailure(cs, e);
        }
        held = c;
        opened++;
        return c;
    }

    private static boolean closed(Connection c) {
        try {
            return c.isClosed();
        } catch (SQLException e) {
            return true;
        }
    }

    /** Kept for the next pass. */
    @Override
    public void release(Connection c) {
        // nothing: the connection stays open until close()
    }

    /** How many connections were opened so far: 1 while the server stays up. */
    synchronized int opened() {
        return opened;
    }

    @Override
    public synchronized void close() {
        MonitorService.close(held);
        held = null;
    }
}
