package dev.chronodr.recover;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Database;
import dev.chronodr.recover.Diagnosis.Verdict;

/**
 * The runbook's "what state is it in?", read-only: the server's state, its log, free memory
 * and disk, a login, pg_isready and pg_controldata, then one verdict.
 */
final class Diagnoser {
    static final int LOG_LINES = 50;

    /** Log lines that mean the files are damaged, not merely that the server stopped. */
    private static final List<String> CORRUPTION = List.of("invalid page in block", "could not locate a valid checkpoint record",
            "invalid checkpoint record", "invalid primary checkpoint", "page verification failed", "checksum mismatch",
            "incorrect checksum in control file", "calculated crc checksum does not match");

    private final DatabaseHost host;
    private final Target target;

    Diagnoser(DatabaseHost host, Target target) {
        this.host = host;
        this.target = target;
    }

    Diagnosis diagnose() {
        DatabaseHost.ServerState state = host.state();
        String connectError = null;
        try (Connection c = Database.connect(target.connection())) {
            c.isValid(5);
            // A server that took the port while this one was down answers too: its answer is not this server's health.
            connectError = host.anotherServerAnswers(c).orElse(null);
        } catch (ChronoException | SQLException e) {
            connectError = e.getMessage();
        }
        boolean accepting = connectError == null;
        DatabaseHost.ToolOutput ready = host.pgIsReady();
        DatabaseHost.ToolOutput control = host.controlData();
        String clusterState = field(control, "Database cluster state");
        String checkpoint = field(control, "Latest checkpoint location");
        String checkpointTime = field(control, "Time of latest checkpoint");
        String controlProblem = null;
        if (!control.ok()) {
            controlProblem = "pg_controldata failed: " + firstLine(control.text());
        } else if (control.text().toLowerCase(Locale.ROOT).contains("crc")) {
            controlProblem = "pg_control's CRC does not match: the control file is damaged";
        }
        String pid = null;
        if (!state.running()) {
            Optional<String> p = host.postmasterPid();
            pid = p.map(v -> "postmaster.pid present (pid " + v + ") while no server runs: a stale lock left by a crash or a kill;"
                    + " PostgreSQL checks and replaces it on start").orElse(null);
        }
        List<String> log = host.logTail(LOG_LINES);
        List<String> resources = host.resources();

        Verdict verdict;
        String reason;
        String damage = damage(log);
        if (accepting) {
            verdict = Verdict.HEALTHY;
            reason = "the server accepts connections";
        } else if (controlProblem != null && control.ok()) {
            verdict = Verdict.CORRUPT;
            reason = controlProblem;
        } else if (damage != null) {
            verdict = Verdict.CORRUPT;
            reason = "the log reports damaged files: " + damage;
        } else if (state.running()) {
            verdict = Verdict.NOT_STARTING;
            reason = "the server runs but does not accept connections (" + (ready.text().isBlank() ? "pg_isready failed" : ready.text()) + ")";
        } else if (failedStart(log) != null) {
            verdict = Verdict.NOT_STARTING;
            reason = "the last start failed: " + failedStart(log);
        } else {
            verdict = Verdict.DOWN_INTACT;
            reason = "the server is not running; " + (clusterState == null ? "pg_control could not be read"
                    : "pg_control says '" + clusterState + "'" + (clusterState.contains("in production")
                    ? " (stopped without a shutdown checkpoint: crash recovery replays the WAL on start)" : ""));
        }
        return new Diagnosis(verdict, reason, host.describe(), state.detail(), accepting, connectError, ready.text(), clusterState,
                checkpoint == null ? null : checkpoint + (checkpointTime == null ? "" : " at " + checkpointTime), controlProblem, pid,
                resources, log);
    }

    private static String damage(List<String> log) {
        for (String line : log) {
            String l = line.toLowerCase(Locale.ROOT);
            if (CORRUPTION.stream().anyMatch(l::contains)) {
                return line.strip();
            }
        }
        return null;
    }

    /**
     * The last start never got to "ready to accept connections": the first FATAL or PANIC after
     * it (or its last line), else null. Sessions ended by a stop or a restore log FATAL too,
     * which is why only a start that never became ready counts.
     */
    private static String failedStart(List<String> log) {
        int start = -1;
        for (int i = 0; i < log.size(); i++) {
            if (log.get(i).contains("starting PostgreSQL")) {
                start = i;
            }
        }
        if (start < 0) {
            return null;
        }
        List<String> after = log.subList(start, log.size());
        if (after.stream().anyMatch(l -> l.contains("ready to accept connections"))) {
            return null;
        }
        return after.stream().filter(l -> l.contains("FATAL:") || l.contains("PANIC:")).findFirst()
                .orElse(after.get(after.size() - 1)).strip();
    }

    private static String field(DatabaseHost.ToolOutput control, String name) {
        for (String line : control.text().split("\n")) {
            if (line.startsWith(name + ":")) {
                return line.substring(name.length() + 1).strip();
            }
        }
        return null;
    }

    private static String firstLine(String text) {
        String t = text.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }
}
