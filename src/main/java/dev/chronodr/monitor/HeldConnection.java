package dev.chronodr.monitor;

import java.sql.Connection;
import java.sql.SQLException;

import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;

/**
 * The one connection a resident monitor keeps between passes. Before each pass it asks the
 * server whether the connection still works (one empty round trip, bounded); a connection
 * broken by a server restart is dropped and a new one opened, so the pass after a restart
 * succeeds, and a pass while the server is down fails to connect at once (connection
 * CRITICAL) instead of hanging on a dead socket. Passes are serialized by the caller.
 */
final class HeldConnection implements MonitorService.Connections, AutoCloseable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(HeldConnection.class);
    private static final int VALID_SECONDS = 2;

    private Connection held;
    private int opened;

    @Override
    public synchronized Connection open(ConnectionSettings cs) {
        if (held != null) {
            if (valid(held)) {
                return held;
            }
            log.info("monitor: the connection to {} was lost; reconnecting", cs.describe());
            MonitorService.close(held);
            held = null;
        }
        held = Database.connect(cs);
        opened++;
        return held;
    }

    private static boolean valid(Connection c) {
        try {
            return !c.isClosed() && c.isValid(VALID_SECONDS);
        } catch (SQLException e) {
            return false;
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
