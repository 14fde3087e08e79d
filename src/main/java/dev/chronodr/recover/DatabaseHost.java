package dev.chronodr.recover;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where the database server runs and how it is stopped, started and looked at: a compose
 * service or a docker container ({@link ContainerHost}), or a data directory on this machine
 * run by pg_ctl or systemd ({@link LocalHost}). Every look is read-only; stop, start and the
 * emergency copy are the only changes, and none of them deletes anything.
 */
interface DatabaseHost {
    /** Whether the server's process (or container) runs, and how people would put it. */
    record ServerState(boolean running, String detail) {
    }

    /** A program's exit code and output. */
    record ToolOutput(boolean ok, String text) {
    }

    /** "compose service postgres (container 1a2b3c)", "data directory /srv/pg (pg_ctl)". */
    String describe();

    ServerState state();

    List<String> logTail(int lines);

    /** pg_controldata on the data directory, whether the server runs or not. */
    ToolOutput controlData();

    /** pg_isready against the server, as its own host sees it. */
    ToolOutput pgIsReady();

    /**
     * Why the server that answered {@code login} cannot be the one this host runs, when there is
     * evidence of that: its postmaster started at another time than the one in the data
     * directory's postmaster.pid, there is no such file, or (with nothing to compare) no live
     * postmaster on the configured port; a container that is not running. Empty when it is ours
     * or when nothing says otherwise (an unreadable data directory, a container whose state
     * cannot be read, proves nothing).
     */
    default Optional<String> anotherServerAnswers(java.sql.Connection login) {
        return Optional.empty();
    }

    /** The first line of postmaster.pid, when the file exists. */
    Optional<String> postmasterPid();

    /** Free memory and disk, on this host and where the data directory is: one line each. */
    List<String> resources();

    /** The data directory's size in bytes, or -1 when it cannot be measured. */
    long dataBytes();

    /** Copies the data directory to {@code dest} (which must not exist yet). Nothing is removed. */
    void copyData(Path dest);

    void stop();

    void start();

    /** What a person types to start it, for the messages. */
    String startCommand();
}
