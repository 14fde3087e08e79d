package dev.chronodr.catalog;

import java.util.ArrayList;
import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextView;

/**
 * cleanup over every repository the target names (repos:), each with its own retention:
 * one {@link CleanupResult} per repository, by name. Exit 1 when any of them kept a
 * database's backups because none that protects it passed its checks.
 */
public record CleanupResults(List<Named> repositories) implements CommandResult {

    /** One repository's cleanup, under its name in the config. */
    public record Named(String name, CleanupResult cleanup) {
    }

    @Override
    public ExitCode exitCode() {
        ExitCode e = ExitCode.OK;
        for (Named n : repositories) {
            e = ExitCode.worst(e, n.cleanup().exitCode());
        }
        return e;
    }

    @Override
    public TextView text() {
        List<TextView.Row> rows = new ArrayList<>();
        for (Named n : repositories) {
            rows.addAll(TextView.builder().line("[" + n.name() + "]").build().rows());
            rows.addAll(n.cleanup().text().rows());
        }
        return new TextView(rows);
    }
}
