package dev.chronodr.verify;

import java.sql.SQLException;
import java.time.Duration;

import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

import dev.chronodr.core.Status;
import dev.chronodr.pg.Identifiers;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.report.TextOutput;

/**
 * What an error raised while checking one object means. The server reports damage it
 * trips over as SQLSTATE class XX (XX001 data_corrupted: "invalid page in block",
 * checksum failures, short reads; XX002 index_corrupted: amcheck's findings; XX000 for
 * "could not read block" and other "cannot happen" states). Those are CRITICAL. Timeouts,
 * missing privileges and lost connections mean the object was not checked: UNKNOWN.
 */
final class SqlErrors {
    private SqlErrors() {
    }

    /** The classification: status, what happened in words, and what to do about it. */
    record Judgement(Status status, String message, String hint) {
    }

    static Judgement judge(SQLException e, DatabaseSession db) {
        return judge(e, db.statementTimeout(), db.server());
    }

    /** {@code server} may be null when the error came before the server was described. */
    static Judgement judge(SQLException e, Duration statementTimeout, ServerInfo server) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String msg = serverMessage(e);
        if (state.startsWith("XX")) {
            return new Judgement(Status.CRITICAL, msg, null);
        }
        if (state.equals("57014")) {
            String limit = statementTimeout.isZero() ? "" : " (--statement-timeout " + TextOutput.duration(statementTimeout) + ")";
            return new Judgement(Status.UNKNOWN, "not checked: " + msg + limit,
                    "raise --statement-timeout, or check this object alone off-hours with --tables");
        }
        if (state.equals("55P03")) {
            return new Judgement(Status.UNKNOWN, "not checked: " + msg + " (another session holds a lock that blocks even reads, such as ALTER TABLE or VACUUM FULL)",
                    "run verify again when that session is done; pg_locks shows who holds it");
        }
        if (state.equals("42501") && msg.contains("row-level security")) {
            return new Judgement(Status.UNKNOWN, "not checked: " + msg,
                    "connect as the table's owner, a superuser, or a role with BYPASSRLS: a policy would hide rows from the check");
        }
        if (state.equals("42501")) {
            String role = server == null ? "<role>" : Identifiers.quote(server.currentUser());
            String grant = server != null && server.version().major() >= 14 ? "GRANT pg_read_all_data TO " + role + ";"
                    : "GRANT SELECT ON ALL TABLES IN SCHEMA <schema> TO " + role + ";";
            return new Judgement(Status.UNKNOWN, "not checked: " + msg, "as a superuser, give the role read access: " + grant);
        }
        if (Timeouts.readTimedOut(e) && !statementTimeout.isZero()) {
            return new Judgement(Status.UNKNOWN, "not checked: the server sent nothing for "
                    + TextOutput.duration(Timeouts.silence(statementTimeout)) + " (hung or stopped; --statement-timeout "
                    + TextOutput.duration(statementTimeout) + " bounds each check)", "see what the server is doing (pg_stat_activity, its log)");
        }
        if (state.startsWith("08") || state.startsWith("57P")) {
            return new Judgement(Status.UNKNOWN, "not checked: the connection was lost (" + msg + ")",
                    "if the server log shows a crash while reading this object, treat it as corrupt");
        }
        if (state.startsWith("53")) {
            return new Judgement(Status.UNKNOWN, "not checked: the server ran out of resources (" + msg + ")",
                    "lower --jobs, or raise maintenance_work_mem for the checking role");
        }
        return new Judgement(Status.UNKNOWN, "not checked: " + msg + (state.isEmpty() ? "" : " [" + state + "]"), null);
    }

    /** Whether the connection is unusable after this error and must be replaced. */
    static boolean connectionLost(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        return state.startsWith("08") || state.startsWith("57P");
    }

    /** The server's own words (message, and detail when there is one) without "ERROR:" and the position. */
    static String serverMessage(SQLException e) {
        if (e instanceof PSQLException p && p.getServerErrorMessage() != null) {
            ServerErrorMessage m = p.getServerErrorMessage();
            String text = m.getMessage();
            if (m.getDetail() != null && !m.getDetail().isBlank()) {
                text += " (" + m.getDetail().strip() + ")";
            }
            return text;
        }
        String text = e.getMessage() == null ? e.toString() : e.getMessage();
        int nl = text.indexOf('\n');
        return (nl >= 0 ? text.substring(0, nl) : text).replaceFirst("^ERROR: ", "").strip();
    }
}
