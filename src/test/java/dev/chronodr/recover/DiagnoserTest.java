package dev.chronodr.recover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.chronodr.config.Target;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.recover.Diagnosis.Verdict;

/**
 * The verdict from what a server that does not answer leaves behind: its state, pg_control and
 * its log (taken from real PostgreSQL 15 logs). No server: the login is refused on a closed port.
 */
class DiagnoserTest {
    private static final String IN_PRODUCTION = "Database cluster state:               in production\n"
            + "Latest checkpoint location:           0/1B60E78\n";

    /** A host that only answers from what it was given. */
    private record FakeHost(boolean running, DatabaseHost.ToolOutput control, List<String> log) implements DatabaseHost {
        @Override
        public String describe() {
            return "fake";
        }

        @Override
        public ServerState state() {
            return new ServerState(running, running ? "running" : "exited");
        }

        @Override
        public List<String> logTail(int lines) {
            return log;
        }

        @Override
        public ToolOutput controlData() {
            return control;
        }

        @Override
        public ToolOutput pgIsReady() {
            return new ToolOutput(false, running ? "/var/run/postgresql:5432 - rejecting connections" : "not running");
        }

        @Override
        public Optional<String> postmasterPid() {
            return Optional.of("1");
        }

        @Override
        public List<String> resources() {
            return List.of();
        }

        @Override
        public long dataBytes() {
            return -1;
        }

        @Override
        public void copyData(Path dest) {
            throw new AssertionError("diagnose copies nothing");
        }

        @Override
        public void stop() {
            throw new AssertionError("diagnose stops nothing");
        }

        @Override
        public void start() {
            throw new AssertionError("diagnose starts nothing");
        }

        @Override
        public String startCommand() {
            return "start";
        }
    }

    private static Diagnosis diagnose(FakeHost host) throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Target target = new Target("t", new ConnectionSettings("127.0.0.1", port, "db", "u", null, "disable"), ExecSettings.local(),
                dev.chronodr.repo.RepoLocation.local(Path.of("repo")), null, false);
        return new Diagnoser(host, target).diagnose();
    }

    @Test
    void aKilledServerWhoseSessionsHadBeenEndedIsDownButIntact() throws IOException {
        // FATAL lines of sessions ended by an earlier restore are not a failed start: the start reached "ready".
        Diagnosis d = diagnose(new FakeHost(false, new DatabaseHost.ToolOutput(true, IN_PRODUCTION), List.of(
                "LOG:  starting PostgreSQL 15.18",
                "LOG:  database system is ready to accept connections",
                "FATAL:  terminating connection due to administrator command")));
        assertEquals(Verdict.DOWN_INTACT, d.verdict(), d.toString());
        assertEquals("in production", d.clusterState());
        assertTrue(d.postmasterPid().contains("stale"), d.postmasterPid());
    }

    @Test
    void aStartThatNeverGotReadyIsNotStartingAndQuotesTheFatal() throws IOException {
        Diagnosis d = diagnose(new FakeHost(false, new DatabaseHost.ToolOutput(true, IN_PRODUCTION), List.of(
                "LOG:  database system is ready to accept connections",
                "LOG:  starting PostgreSQL 15.18",
                "FATAL:  could not map anonymous shared memory: Cannot allocate memory",
                "LOG:  database system is shut down")));
        assertEquals(Verdict.NOT_STARTING, d.verdict(), d.toString());
        assertTrue(d.reason().contains("could not map anonymous shared memory"), d.reason());
    }

    @Test
    void aDamagedControlFileIsCorrupt() throws IOException {
        Diagnosis d = diagnose(new FakeHost(false, new DatabaseHost.ToolOutput(true,
                "WARNING: Calculated CRC checksum does not match value stored in file.\n" + IN_PRODUCTION), List.of()));
        assertEquals(Verdict.CORRUPT, d.verdict(), d.toString());
        assertTrue(d.controlProblem().contains("CRC"), d.controlProblem());
    }

    @Test
    void aLogThatNamesADamagedPageIsCorrupt() throws IOException {
        Diagnosis d = diagnose(new FakeHost(false, new DatabaseHost.ToolOutput(true, IN_PRODUCTION), List.of(
                "LOG:  starting PostgreSQL 15.18",
                "LOG:  database system is ready to accept connections",
                "ERROR:  invalid page in block 0 of relation base/16384/16385")));
        assertEquals(Verdict.CORRUPT, d.verdict(), d.toString());
    }

    @Test
    void aServerThatRunsButRefusesIsNotStarting() throws IOException {
        Diagnosis d = diagnose(new FakeHost(true, new DatabaseHost.ToolOutput(true, IN_PRODUCTION), List.of()));
        assertEquals(Verdict.NOT_STARTING, d.verdict(), d.toString());
        assertTrue(d.reason().contains("rejecting connections"), d.reason());
        assertEquals(null, d.postmasterPid(), "a running server's lock file is not stale");
    }
}
