package dev.chronodr.drill;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.report.TextOutput;
import dev.chronodr.verify.Timeouts;

/**
 * The connection a check after the restore runs on (row counts, foreign keys, the schema):
 * bounded by the drill's {@code --statement-timeout} on the server, and, for a server that
 * stops answering altogether (a stopped or wedged backend enforces no timeout), by a silence
 * somewhat longer on this side. Zero means no bound at all, as in verify.
 */
final class CheckSession {
    private CheckSession() {
    }

    static Connection open(ConnectionSettings settings, Duration timeout) throws SQLException {
        Connection c = Database.connect(settings);
        try {
            try (Statement st = c.createStatement()) {
                st.execute("SET statement_timeout = " + timeout.toMillis());
            }
            if (!timeout.isZero()) {
                c.setNetworkTimeout(Runnable::run, Timeouts.networkTimeoutMillis(timeout));
            }
            return c;
        } catch (SQLException | RuntimeException e) {
            try {
                c.close();
            } catch (SQLException | RuntimeException close) {
                e.addSuppressed(close);
            }
            throw e;
        }
    }

    /** What went wrong, naming the bound that ended it. */
    static String explain(SQLException e, Duration timeout) {
        if ("57014".equals(e.getSQLState()) && !timeout.isZero()) {
            return e.getMessage() + " (--statement-timeout " + TextOutput.duration(timeout) + ")";
        }
        if (Timeouts.readTimedOut(e)) {
            return "the server sent nothing for " + TextOutput.duration(Timeouts.silence(timeout))
                    + " (hung; --statement-timeout " + TextOutput.duration(timeout) + " bounds each check)";
        }
        return e.getMessage();
    }
}
