package dev.chronodr.pgbouncer;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextView;

/** What {@code pgbouncer config} wrote: the two files, who is in the user list, and the next steps. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ConfigResult(String target, String directory, List<String> written, List<String> users,
                           @JsonProperty("auth_query") boolean authQuery, @JsonProperty("auth_query_sql") String authQuerySql,
                           List<String> notes, @JsonProperty("next_steps") List<String> nextSteps) implements CommandResult {

    @Override
    public ExitCode exitCode() {
        return ExitCode.OK;
    }

    @Override
    public TextView text() {
        TextView.Builder b = TextView.builder();
        b.line("wrote PgBouncer's files for target " + target + " into " + directory + " (mode 0600):");
        written.forEach(w -> b.line("  " + w));
        b.line((authQuery ? "user list (auth_user only; other users through auth_query): " : "user list (SCRAM verifiers): ")
                + (users.isEmpty() ? "(empty)" : String.join(", ", users)));
        notes.forEach(n -> b.line("note: " + n));
        if (authQuerySql != null) {
            b.line("the SQL auth_query needs (printed, not run):");
            authQuerySql.lines().forEach(l -> b.verbatim("  " + l));
        }
        if (!nextSteps.isEmpty()) {
            b.line("next:");
            nextSteps.forEach(s -> b.line("  " + s));
        }
        return b.build();
    }
}
