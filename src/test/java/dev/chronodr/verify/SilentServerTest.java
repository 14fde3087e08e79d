package dev.chronodr.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

import dev.chronodr.core.ChronoException;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** verify's connections do not wait without end for a server that stopped answering, and say so. */
@PostgresTest
class SilentServerTest {
    @Test
    void eachCheckingConnectionWaitsTheTimeoutAndAsMuchAgainAtMost(PgCluster pg) throws Exception {
        try (Connection c = pg.connect("postgres")) {
            DatabaseSession.configure(c, Duration.ofSeconds(2));
            assertEquals(4000, c.getNetworkTimeout());
            DatabaseSession.configure(c, Duration.ofMinutes(5));
            assertEquals(330_000, c.getNetworkTimeout(), "30 s more at most");
        }
        try (Connection c = pg.connect("postgres")) {
            DatabaseSession.configure(c, Duration.ZERO);
            assertEquals(0, c.getNetworkTimeout(), "--statement-timeout 0: no bound at all");
        }
    }

    @Test
    void aServerThatSentNothingIsUnknownNamingTheBound(PgCluster pg) {
        PSQLException e = new PSQLException("An I/O error occurred while sending to the backend.", PSQLState.CONNECTION_FAILURE,
                new SocketTimeoutException("Read timed out"));
        SqlErrors.Judgement j = SqlErrors.judge(e, Duration.ofSeconds(2), null);
        assertEquals(dev.chronodr.core.Status.UNKNOWN, j.status());
        assertEquals("not checked: the server sent nothing for 4.0 s (hung or stopped; --statement-timeout 2.0 s bounds each check)",
                j.message());
        assertTrue(SqlErrors.connectionLost(e), "the connection is replaced");
        // A connect that timed out (08001) is no silence of a server that was answering.
        PSQLException connect = new PSQLException("The connection attempt failed.", PSQLState.CONNECTION_UNABLE_TO_CONNECT,
                new SocketTimeoutException("Connect timed out"));
        assertTrue(SqlErrors.judge(connect, Duration.ofSeconds(2), null).message().startsWith("not checked: the connection was lost"),
                SqlErrors.judge(connect, Duration.ofSeconds(2), null).message());
    }

    @Test
    void aDurationPastWhatMillisecondsHoldIsAUsageError(PgCluster pg) {
        for (String text : java.util.List.of("99999999999999999999s", "106751991167301d", "25d")) {
            ChronoException e = org.junit.jupiter.api.Assertions.assertThrows(ChronoException.class,
                    () -> Timeouts.parse("--statement-timeout", text));
            assertEquals(dev.chronodr.core.ExitCode.USAGE, e.exitCode(), text);
            assertTrue(e.getMessage().endsWith("is too long"), e.getMessage());
        }
    }
}
