package dev.chronodr.monitor;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

import dev.chronodr.config.Target;
import dev.chronodr.process.ProcessRunner;

/**
 * What a check judges: the target (its repository, exec mode, connection settings), how
 * connecting went, the server's facts and the rows of the queries the check asked for
 * (and the process runner, for what only a command in the database's container can see).
 * {@code server} is null when there is no connection.
 */
public record CheckContext(Target target, ConnectOutcome connection, ServerFacts server,
                           Map<String, List<Row>> results, MonitorSettings settings, OffsetDateTime now, ProcessRunner runner) {

    /** The rows of a query this check declared. */
    public List<Row> rows(String queryName) {
        List<Row> rows = results.get(queryName);
        if (rows == null) {
            throw new IllegalStateException("query " + queryName + " was not run");
        }
        return rows;
    }

    public Threshold threshold(String name) {
        return settings.thresholds().get(name);
    }
}
