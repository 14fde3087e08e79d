package dev.chronodr.drill;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.chronodr.report.HtmlPage;
import dev.chronodr.report.HtmlPage.Cell;
import dev.chronodr.report.HtmlPage.Row;

/**
 * What a drill's page shows (report/HtmlPage lays it out): the verdict, RTO and RPO against
 * their targets, the steps with their times, and the history of this database's drills as
 * two charts (restore time against the RTO, database size) with the exact figures in a table
 * below them. Every figure is the JSON report's own number.
 */
public final class DrillPage {
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'");

    private DrillPage() {
    }

    public static String html(DrillReport r, List<DrillHistory.Entry> history) {
        String verdict = r.passed() ? "PASSED" : "FAILED";
        HtmlPage page = HtmlPage.titled("dr-test " + verdict + ": " + r.database(), "chrono-dr dr-test")
                .heading("dr-test", verdict, r.database())
                .paragraph(Cell.text("Backup " + (r.backupId() == null ? "none" : r.backupId())
                                + (r.restoredOn() != null ? ", restored on " + r.restoredOn() : "")
                                + ", started " + when(r.startedAt()) + ", drill took "),
                        Cell.figure("total-millis", r.totalMillis()), Cell.text(" ms."));

        List<Row> objectives = new ArrayList<>();
        objective(objectives, "RTO", "rto", r.rto());
        objective(objectives, "RPO", "rpo", r.rpo());
        objective(objectives, "last recover", "last-recover", r.lastRecover());
        page.section("Objectives").table("objectives", List.of("", "target (s)", "measured (s)", "met", ""), objectives);

        long longest = Math.max(1, r.steps().stream().mapToLong(DrillReport.Step::millis).max().orElse(1));
        List<Row> steps = new ArrayList<>();
        for (DrillReport.Step s : r.steps()) {
            steps.add(new Row(s.name(), List.of(Cell.text(s.name()), Cell.status(s.outcome().name()), Cell.figure(null, s.millis()),
                    Cell.bar(100.0 * s.millis() / longest),
                    Cell.withNotes(s.message() == null ? "" : s.message(), s.details().subList(0, Math.min(10, s.details().size()))))));
        }
        page.section("Steps").table("steps", List.of("step", "outcome", "time (ms)", "", "message"), steps);

        page.section("History");
        List<DrillHistory.Entry> restored = history.stream().filter(e -> e.restoreMillis() != null).toList();
        if (restored.size() < 2) {
            page.paragraph(Cell.text(history.size() + " drill(s) kept in the repository; the charts need two with a restore."));
        } else {
            Long rto = r.rto() != null ? Long.valueOf(r.rto().targetSeconds()) : restored.get(restored.size() - 1).rtoSeconds();
            page.chart("restore-chart", "restore time (s)", restored.stream().map(e -> when(e.startedAt())).toList(),
                    restored.stream().map(e -> e.restoreMillis() / 1000.0).toList(), rto == null ? null : rto.doubleValue(), "RTO (s)");
            List<DrillHistory.Entry> sized = restored.stream().filter(e -> e.databaseBytes() != null).toList();
            if (sized.size() >= 2) {
                page.chart("size-chart", "database size (MB)", sized.stream().map(e -> when(e.startedAt())).toList(),
                        sized.stream().map(e -> e.databaseBytes() / 1048576.0).toList(), null, null);
            }
        }
        List<Row> rows = new ArrayList<>();
        for (int i = history.size() - 1; i >= 0; i--) {
            DrillHistory.Entry e = history.get(i);
            rows.add(new Row(null, List.of(Cell.text(when(e.startedAt())), Cell.status(e.passed() ? "PASSED" : "FAILED"),
                    Cell.figure(null, e.restoreMillis()), Cell.figure(null, e.rtoSeconds()), Cell.figure(null, e.backupAgeSeconds()),
                    Cell.figure(null, e.databaseBytes()), Cell.text(e.backupId() == null ? "" : e.backupId()))));
        }
        page.table("history", List.of("started", "verdict", "restore (ms)", "RTO (s)", "backup age (s)", "database (bytes)", "backup"), rows);
        return page.build("chrono-dr dr-test --format json");
    }

    private static void objective(List<Row> rows, String label, String id, DrillReport.Objective o) {
        if (o != null) {
            rows.add(new Row(null, List.of(Cell.text(label), Cell.figure(id + "-target", o.targetSeconds()),
                    Cell.figure(id + "-measured", o.measuredSeconds()), Cell.status(o.met() ? "PASSED" : "FAILED"), Cell.text(o.what()))));
        }
    }

    private static String when(java.time.OffsetDateTime t) {
        return WHEN.withLocale(Locale.ROOT).format(t.withOffsetSameInstant(ZoneOffset.UTC));
    }
}
