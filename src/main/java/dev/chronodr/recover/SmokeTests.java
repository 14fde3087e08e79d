package dev.chronodr.recover;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.chronodr.config.RecoverSection.SmokeTest;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.Database;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/** The config's {@code smoke_tests:}: each query's row count within its bounds, each command's exit code as expected. */
final class SmokeTests {
    /** One test's verdict, as one line. */
    record Result(String name, boolean passed, String detail) {
    }

    private SmokeTests() {
    }

    static List<Result> run(List<SmokeTest> tests, Target target, ProcessRunner runner) {
        List<Result> results = new ArrayList<>();
        for (SmokeTest t : tests) {
            results.add(t.sql != null ? query(t, target) : command(t, runner));
        }
        return results;
    }

    private static Result query(SmokeTest t, Target target) {
        String db = t.dbname != null ? t.dbname : target.connection().dbname();
        try (Connection c = Database.connect(target.connection().withDbname(db)); Statement st = c.createStatement()) {
            st.setQueryTimeout(t.timeoutSeconds);
            long rows = 0;
            try (ResultSet rs = st.executeQuery(t.sql)) {
                while (rs.next()) {
                    rows++;
                }
            }
            boolean ok = (t.minRows == null || rows >= t.minRows) && (t.maxRows == null || rows <= t.maxRows);
            return new Result(t.name, ok, rows + " rows" + bounds(t) + (ok ? "" : ": out of bounds"));
        } catch (SQLException | ChronoException e) {
            return new Result(t.name, false, "query failed: " + e.getMessage());
        }
    }

    private static String bounds(SmokeTest t) {
        if (t.minRows == null && t.maxRows == null) {
            return "";
        }
        return " (expected " + (t.minRows == null ? "" : "at least " + t.minRows) + (t.minRows != null && t.maxRows != null ? ", " : "")
                + (t.maxRows == null ? "" : "at most " + t.maxRows) + ")";
    }

    private static Result command(SmokeTest t, ProcessRunner runner) {
        try {
            ProcessResult r = runner.execute(ProcessSpec.of(t.command).withTimeout(Duration.ofSeconds(t.timeoutSeconds)));
            boolean ok = r.exitCode() == t.expectExit;
            String err = r.stderrTail() == null ? "" : r.stderrTail().strip();
            return new Result(t.name, ok, "exit " + r.exitCode() + (ok ? "" : ", expected " + t.expectExit + (err.isEmpty() ? "" : ": " + last(err))));
        } catch (ProcessFailedException e) {
            return new Result(t.name, false, e.getMessage());
        }
    }

    private static String last(String text) {
        String[] lines = text.split("\n");
        return lines[lines.length - 1];
    }
}
