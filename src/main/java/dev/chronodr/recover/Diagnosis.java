package dev.chronodr.recover;

import java.util.List;

/**
 * What the read-only diagnosis found, and its verdict.
 *
 * @param server        the container's or service's state, as the engine or pg_ctl reports it
 * @param accepting     whether chrono-dr could connect and log in
 * @param connectError  why not, when it could not
 * @param pgIsReady     pg_isready's answer
 * @param clusterState  pg_control's "Database cluster state" (in production, shut down, ...), or null
 * @param lastCheckpoint pg_control's latest checkpoint location and time, or null
 * @param controlProblem what is wrong with pg_control (bad CRC, unreadable), or null
 * @param postmasterPid what postmaster.pid says when the server is not running (a stale lock), or null
 * @param resources     free memory and disk, on the host and where the data is
 * @param logTail       the last lines of the server's log
 */
public record Diagnosis(Verdict verdict, String reason, String host, String server, boolean accepting, String connectError,
                        String pgIsReady, String clusterState, String lastCheckpoint, String controlProblem, String postmasterPid,
                        List<String> resources, List<String> logTail) {

    /** The four answers to "what state is it in?". */
    public enum Verdict {
        HEALTHY("healthy"), DOWN_INTACT("down but intact"), NOT_STARTING("not starting"), CORRUPT("corrupt");

        private final String label;

        Verdict(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    public Diagnosis {
        resources = resources == null ? List.of() : List.copyOf(resources);
        logTail = logTail == null ? List.of() : List.copyOf(logTail);
    }
}
