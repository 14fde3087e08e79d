package dev.chronodr.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.OffsetDateTime;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.chronodr.core.ExitCode;
import dev.chronodr.report.TextOutput;

/** Exit codes and the --print-sql script, without a server. */
class AuditReportTest {
    static Finding finding(Severity s) {
        return new Finding("X", s, "roles", "o", "e", "w", "f");
    }

    static final Skip KEY = new Skip("passwords", List.of("PASSWORD-WEAK"), "needs a superuser", true);
    static final Skip MINOR = new Skip("activity", List.of("ACTIVITY-CLIENT-CONNECTIONS"), "addresses hidden", false);

    @Test
    void exitCodeIsTheWorstFindingAndNeverCleanWhenAKeyCheckWasSkipped() {
        assertEquals(ExitCode.OK, AuditReport.exitCodeOf(List.of(), List.of()));
        assertEquals(ExitCode.OK, AuditReport.exitCodeOf(List.of(finding(Severity.INFO)), List.of(MINOR)));
        assertEquals(ExitCode.FAILED, AuditReport.exitCodeOf(List.of(finding(Severity.INFO), finding(Severity.WARNING)), List.of()));
        assertEquals(ExitCode.CRITICAL, AuditReport.exitCodeOf(List.of(finding(Severity.WARNING), finding(Severity.CRITICAL)), List.of()));
        assertEquals(ExitCode.UNKNOWN, AuditReport.exitCodeOf(List.of(), List.of(KEY)));
        assertEquals(ExitCode.UNKNOWN, AuditReport.exitCodeOf(List.of(finding(Severity.WARNING)), List.of(KEY)));
        // A certain CRITICAL outranks "could not audit everything".
        assertEquals(ExitCode.CRITICAL, AuditReport.exitCodeOf(List.of(finding(Severity.CRITICAL)), List.of(KEY)));
        assertEquals("incomplete", AuditReport.verdict(ExitCode.UNKNOWN));
    }

    static AuditReport report(List<String> sql) {
        return new AuditReport("t", "u@h:1/db", "db", "15.0, primary", "u", true, OffsetDateTime.now(), 1, "db",
                List.of(), List.of(), List.of(), List.of(), new AuditReport.Summary(0, 0, 0, 0, 0, 0, "clean"), sql, true);
    }

    static String text(AuditReport r) {
        StringWriter w = new StringWriter();
        new TextOutput(new PrintWriter(w, true), false).render(r.text());
        return w.toString();
    }

    @Test
    void scriptSaysSoWhenThereIsNothingToChange() {
        String empty = text(report(List.of()));
        assertTrue(empty.contains("-- Nothing to change: the roles and privileges match the matrix."), empty);
        assertFalse(empty.contains("BEGIN;"));
        assertTrue(empty.lines().allMatch(l -> l.startsWith("--")), "a script of comments only is safe to run");

        String comments = text(report(List.of("-- \"x\" is not in the matrix")));
        assertFalse(comments.contains("BEGIN;"), comments);

        String work = text(report(List.of("ALTER ROLE \"a\" CONNECTION LIMIT 2;")));
        assertTrue(work.contains("BEGIN;\nALTER ROLE \"a\" CONNECTION LIMIT 2;\nCOMMIT;"), work);
        assertTrue(work.contains("psql -v ON_ERROR_STOP=1 -d db -f this-file.sql"), work);
    }
}
