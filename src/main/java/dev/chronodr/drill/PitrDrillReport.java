package dev.chronodr.drill;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonProperty;

import dev.chronodr.core.ExitCode;
import dev.chronodr.drill.DrillReport.Objective;
import dev.chronodr.drill.DrillReport.Outcome;
import dev.chronodr.drill.DrillReport.Step;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.CheckedResult;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.TextView;

/**
 * What {@code dr-test --pitr} proved, in the logical drill's style (steps with outcomes and
 * times, objectives): the base backup, the restore point the drill set and the WAL file it
 * lies in, the critical tables as the live database held them at that point and as the copy
 * holds them, how long writers to those tables were held off, the PITR restore's time (base
 * backup files + WAL replay to promotion) against the RTO, and the data-loss window against
 * the RPO. {@code scratchDir} and {@code port} are where the copy ran; both are cleaned up.
 */
public record PitrDrillReport(String database, String baseBackup, boolean freshBase, RestorePoint restorePoint, List<TableProof> tables,
                              Long lockMillis, String scratchDir, Integer port, OffsetDateTime startedAt, List<Step> steps,
                              Objective rto, Objective dataLossWindow, Objective lastRecover, List<String> leftoversRemoved,
                              long elapsedMillis) implements CheckedResult {

    /** The drill's target in the WAL. */
    public record RestorePoint(String name, String lsn, String walFile, OffsetDateTime createdAt) {
    }

    /** A critical table at the restore point: on the live server, and in the recovered copy (null until read). */
    public record TableProof(String table, long liveRows, String liveDigest, Long copyRows, String copyDigest) {
        @JsonProperty
        public boolean identical() {
            return copyRows != null && copyRows == liveRows && liveDigest.equals(copyDigest);
        }
    }

    @JsonProperty
    public boolean passed() {
        return steps.stream().noneMatch(s -> s.outcome() == Outcome.FAILED || s.outcome() == Outcome.ERROR);
    }

    @JsonProperty
    public long totalMillis() {
        return elapsedMillis;
    }

    /** 0 proven; 2 a step failed (the copy differs, replay failed, a WAL segment is damaged); 1 the drill could not act. */
    @Override
    public ExitCode exitCode() {
        if (passed()) {
            return ExitCode.OK;
        }
        return steps.stream().anyMatch(s -> s.outcome() == Outcome.FAILED) ? ExitCode.CRITICAL : ExitCode.FAILED;
    }

    @Override
    public TextView text() {
        TextView.Builder out = TextView.builder();
        Step restore = steps.stream().filter(s -> s.name().equals("pitr-restore") && s.outcome() == Outcome.PASSED).findFirst().orElse(null);
        out.line("dr-test --pitr " + (passed() ? "PASSED" : "FAILED") + ": " + database + " from base backup " + (baseBackup == null ? "?" : baseBackup)
                + (restorePoint == null ? "" : " to restore point '" + restorePoint.name() + "'")
                + (restore != null ? ", recovered in " + TextOutput.duration(Duration.ofMillis(restore.millis())) : "")
                + "; drill took " + TextOutput.duration(Duration.ofMillis(elapsedMillis)));
        DrillReport.stepLines(out, steps);
        if (restorePoint != null) {
            out.field("restore point", restorePoint.name() + " at " + restorePoint.lsn() + " in " + restorePoint.walFile()
                    + (lockMillis == null ? "" : "; writers to the critical tables held off " + lockMillis + " ms"));
        }
        if (rto != null) {
            out.field("RTO", rto.what());
        }
        if (dataLossWindow != null) {
            out.field("data-loss window", dataLossWindow.what());
        }
        if (lastRecover != null) {
            out.field("last recover", lastRecover.what());
        }
        if (!leftoversRemoved.isEmpty()) {
            out.field("cleaned", "scratch clusters of interrupted drills: " + String.join(", ", leftoversRemoved));
        }
        return out.build();
    }

    @Override
    public String suite() {
        return "chrono-dr dr-test --pitr " + database;
    }

    @Override
    public List<CheckOutcome> outcomes() {
        return DrillReport.outcomes("chrono-dr.dr-test-pitr." + database, steps);
    }

    @Override
    public Duration elapsed() {
        return Duration.ofMillis(elapsedMillis);
    }
}
