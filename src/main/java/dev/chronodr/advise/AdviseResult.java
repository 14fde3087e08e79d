package dev.chronodr.advise;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/**
 * What {@code advise} found in one database, with the facts that qualify it: how long the
 * usage statistics have been collecting, whether other servers (standbys) may use what
 * looks unused here, and what could not be looked at. Exit 0 nothing to advise, 1 advice.
 */
public record AdviseResult(String database, String server, Double statisticsAgeSeconds, int standbys,
                           List<Advice> advice, List<String> notes) implements CommandResult {

    public AdviseResult {
        advice = List.copyOf(advice);
        notes = List.copyOf(notes);
    }

    @Override
    public ExitCode exitCode() {
        return advice.isEmpty() ? ExitCode.OK : ExitCode.FAILED;
    }

    @JsonIgnore
    @Override
    public TextView text() {
        TextView.Builder b = TextView.builder();
        b.line("advice for database " + database + " on " + server + ": "
                + (advice.isEmpty() ? "nothing to change" : advice.size() + (advice.size() == 1 ? " finding" : " findings")));
        Advice.Kind kind = null;
        for (Advice a : advice) {
            if (a.kind() != kind) {
                kind = a.kind();
                b.line("");
                b.line(kind.plural() + ":");
            }
            b.line("  " + a.object() + (a.bytes() == null ? "" : " (" + TextOutput.bytes(a.bytes()) + ")") + ": " + a.detail());
            if (a.note() != null) {
                b.line("    note: " + a.note());
            }
            if (a.fix() != null) {
                for (String l : a.fix().split("\n")) {
                    b.verbatim("    " + l);
                }
            }
        }
        if (!notes.isEmpty()) {
            b.line("");
            notes.forEach(n -> b.line("note: " + n));
        }
        if (!advice.isEmpty()) {
            b.line("");
            b.line("Nothing was changed. Review each statement, then run it yourself (CONCURRENTLY cannot run inside a transaction block).");
        }
        return b.build();
    }
}
