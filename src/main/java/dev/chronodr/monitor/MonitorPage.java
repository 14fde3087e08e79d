package dev.chronodr.monitor;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.HtmlPage;
import dev.chronodr.report.HtmlPage.Cell;
import dev.chronodr.report.HtmlPage.Row;
import dev.chronodr.report.Metric;

/**
 * What the health report's page shows (report/HtmlPage lays it out): the overall status, the
 * server, and every check worst first with its message, its metrics and the first objects
 * it is about. The figures are the JSON report's.
 */
public final class MonitorPage {
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT);
    private static final int ITEMS = 10;

    private MonitorPage() {
    }

    public static String html(MonitorReport r) {
        HtmlPage page = HtmlPage.titled("monitor " + r.status() + ": " + r.server(), "chrono-dr monitor")
                .heading("monitor", r.status().name(), r.server())
                .paragraph(Cell.text((r.target() == null ? "" : "Target " + r.target() + ", ")
                                + (r.version() == null ? "server not reached" : "PostgreSQL " + r.version() + " (" + r.role() + ")")
                                + ", checked " + WHEN.format(r.checkedAt().withOffsetSameInstant(ZoneOffset.UTC)) + " in "),
                        Cell.figure("duration-ms", r.durationMs()), Cell.text(" ms."));
        List<Row> rows = new ArrayList<>();
        for (CheckOutcome c : r.worstFirst()) {
            List<String> notes = new ArrayList<>();
            for (Metric m : c.metrics()) {
                notes.add(m.name() + (m.labels().isEmpty() ? "" : m.labels().toString()) + " = " + number(m.value())
                        + (m.warning() != null ? " (warning " + number(m.warning()) + ")" : "")
                        + (m.critical() != null ? " (critical " + number(m.critical()) + ")" : ""));
            }
            for (Map<String, Object> item : c.items().subList(0, Math.min(ITEMS, c.items().size()))) {
                notes.add(item.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(", ")));
            }
            if (c.items().size() > ITEMS) {
                notes.add("and " + (c.items().size() - ITEMS) + " more (--format json has them all)");
            }
            rows.add(new Row(c.name(), List.of(Cell.text(c.name()), Cell.status(c.status().name()),
                    Cell.withNotes(c.message() == null ? "" : c.message(), notes))));
        }
        page.section("Checks, worst first").table("checks", List.of("check", "status", "message, metrics and objects"), rows);
        return page.build("chrono-dr monitor --format json");
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.3f", v);
    }
}
