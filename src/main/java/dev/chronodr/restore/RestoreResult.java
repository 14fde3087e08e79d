package dev.chronodr.restore;

import java.time.Duration;
import java.util.List;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/**
 * What a restore did: the mode (beside, replace, in-place), the source, where the data is
 * now, the kept previous database, the time of each phase (the RTO numbers), the
 * verification, and what the user should do next (rollback commands included).
 */
public record RestoreResult(boolean succeeded, String mode, RestoreSource source, String database, String stagingDatabase,
                            String previousDatabase, int tocEntries, int jobs, List<Phase> phases, Verification verification,
                            List<String> notes, List<String> rollback, List<String> nextSteps, String failure) implements CommandResult {

    /** One phase and how long it took. */
    public record Phase(String name, long millis) {
    }

    @com.fasterxml.jackson.annotation.JsonProperty
    public long totalMillis() {
        return phases.stream().mapToLong(Phase::millis).sum();
    }

    @Override
    public ExitCode exitCode() {
        return succeeded ? ExitCode.OK : ExitCode.FAILED;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        out.line(succeeded
                ? "restore " + source.id() + " -> " + database + ": done (" + mode + ")"
                : "restore " + source.id() + " -> " + database + ": FAILED (" + mode + "): " + failure);
        out.field("source", source.location() + " (" + source.format().name().toLowerCase(java.util.Locale.ROOT)
                + (source.compression().equals("none") ? "" : ", " + source.compression()) + ")");
        out.field("toc entries", tocEntries);
        out.field("jobs", jobs);
        if (stagingDatabase != null) {
            out.field("staging db", stagingDatabase);
        }
        if (previousDatabase != null) {
            out.field("previous db", previousDatabase + " (kept for rollback)");
        }
        for (Phase p : phases) {
            out.field(p.name(), TextOutput.duration(Duration.ofMillis(p.millis())));
        }
        out.field("total", TextOutput.duration(Duration.ofMillis(totalMillis())));
        if (verification != null) {
            long fkOk = verification.foreignKeys().stream().filter(Verification.ForeignKey::ok).count();
            long tOk = verification.tables().stream().filter(Verification.TableCount::ok).count();
            out.field("verification", (verification.ok() ? "OK" : "FAILED") + ": row counts " + tOk + "/" + verification.tables().size()
                    + " match, foreign keys " + fkOk + "/" + verification.foreignKeys().size() + " without orphans"
                    + " (" + verification.foreignKeys().stream().filter(f -> f.checkedBy().equals("scan")).count()
                    + " NOT VALID scanned, the others validated by PostgreSQL during the restore)");
            verification.problems().forEach(p -> out.line("    " + p));
            if (verification.note() != null) {
                out.line("    " + verification.note());
            }
        } else {
            out.field("verification", "skipped (--no-verify)");
        }
        notes.forEach(n -> out.line("note: " + n));
        if (!rollback.isEmpty()) {
            out.line("to roll back (as a superuser, connected to the postgres database):");
            rollback.forEach(r -> out.line("  " + r));
        }
        if (!nextSteps.isEmpty()) {
            out.line("next:");
            nextSteps.forEach(s -> out.line("  - " + s));
        }
        return out.build();
    }
}
