package dev.chronodr.drill;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * A drill as one self-contained HTML page (no script, no external asset, so it opens from a
 * mail attachment or a CI artifact): the verdict, RTO and RPO against their targets, the
 * steps with their times, and the history of this database's drills as two charts (restore
 * time against the RTO, database size) with the exact figures in a table below them. Every
 * figure is the JSON report's own number, unrounded where the JSON has it.
 */
public final class DrillPage {
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'");
    private static final int W = 640;
    private static final int H = 180;
    private static final int PAD = 40;

    private DrillPage() {
    }

    public static String html(DrillReport r, List<DrillHistory.Entry> history) {
        StringBuilder b = new StringBuilder(8192);
        String verdict = r.passed() ? "PASSED" : "FAILED";
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
                .append("<meta name=\"generator\" content=\"chrono-dr dr-test\">\n")
                .append("<title>dr-test ").append(verdict).append(": ").append(esc(r.database())).append("</title>\n")
                .append("<style>\n")
                .append("body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:60em}\n")
                .append("h1{font-size:1.4em}.PASSED{color:#0a6b2d}.FAILED,.ERROR{color:#b00020}.SKIPPED{color:#777}\n")
                .append("table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:.25em .75em;border-bottom:1px solid #ddd;text-align:left}\n")
                .append("td.n{text-align:right;font-variant-numeric:tabular-nums}.bar{background:#4a7bd0;height:.8em;min-width:1px}\n")
                .append("svg{background:#fafafa;border:1px solid #ddd}\n")
                .append("</style></head><body>\n");
        b.append("<h1>dr-test <span id=\"verdict\" class=\"").append(verdict).append("\">").append(verdict).append("</span>: ")
                .append(esc(r.database())).append("</h1>\n");
        b.append("<p>Backup <code id=\"backup-id\">").append(esc(r.backupId() == null ? "none" : r.backupId())).append("</code>")
                .append(r.restoredOn() != null ? ", restored on " + esc(r.restoredOn()) : "")
                .append(", started ").append(esc(WHEN.format(r.startedAt().withOffsetSameInstant(ZoneOffset.UTC))))
                .append(", drill took <span id=\"total-millis\">").append(r.totalMillis()).append("</span> ms.</p>\n");

        b.append("<h2>Objectives</h2>\n<table><tr><th></th><th>target (s)</th><th>measured (s)</th><th>met</th><th></th></tr>\n");
        objective(b, "RTO", "rto", r.rto());
        objective(b, "RPO", "rpo", r.rpo());
        objective(b, "last recover", "last-recover", r.lastRecover());
        b.append("</table>\n");

        b.append("<h2>Steps</h2>\n<table id=\"steps\"><tr><th>step</th><th>outcome</th><th>time (ms)</th><th></th><th>message</th></tr>\n");
        long longest = Math.max(1, r.steps().stream().mapToLong(DrillReport.Step::millis).max().orElse(1));
        for (DrillReport.Step s : r.steps()) {
            b.append("<tr data-step=\"").append(esc(s.name())).append("\"><td>").append(esc(s.name())).append("</td><td class=\"")
                    .append(s.outcome()).append("\">").append(s.outcome()).append("</td><td class=\"n\">").append(s.millis())
                    .append("</td><td style=\"width:12em\"><div class=\"bar\" style=\"width:")
                    .append(String.format(Locale.ROOT, "%.1f", 100.0 * s.millis() / longest)).append("%\"></div></td><td>")
                    .append(esc(s.message() == null ? "" : s.message()));
            for (String d : s.details().subList(0, Math.min(10, s.details().size()))) {
                b.append("<br><small>").append(esc(d)).append("</small>");
            }
            b.append("</td></tr>\n");
        }
        b.append("</table>\n");

        b.append("<h2>History</h2>\n");
        List<DrillHistory.Entry> restored = history.stream().filter(e -> e.restoreMillis() != null).toList();
        if (restored.size() < 2) {
            b.append("<p>").append(history.size()).append(" drill(s) kept in the repository; the charts need two with a restore.</p>\n");
        } else {
            Long rto = r.rto() != null ? Long.valueOf(r.rto().targetSeconds()) : restored.get(restored.size() - 1).rtoSeconds();
            b.append(chart("restore-chart", "restore time (s)", restored, e -> e.restoreMillis() / 1000.0, rto == null ? null : rto.doubleValue()));
            List<DrillHistory.Entry> sized = restored.stream().filter(e -> e.databaseBytes() != null).toList();
            if (sized.size() >= 2) {
                b.append(chart("size-chart", "database size (MB)", sized, e -> e.databaseBytes() / 1048576.0, null));
            }
        }
        b.append("<table id=\"history\"><tr><th>started</th><th>verdict</th><th>restore (ms)</th><th>RTO (s)</th>")
                .append("<th>backup age (s)</th><th>database (bytes)</th><th>backup</th></tr>\n");
        for (int i = history.size() - 1; i >= 0; i--) {
            DrillHistory.Entry e = history.get(i);
            String v = e.passed() ? "PASSED" : "FAILED";
            b.append("<tr><td>").append(esc(WHEN.format(e.startedAt().withOffsetSameInstant(ZoneOffset.UTC)))).append("</td><td class=\"")
                    .append(v).append("\">").append(v).append("</td><td class=\"n\">").append(num(e.restoreMillis()))
                    .append("</td><td class=\"n\">").append(num(e.rtoSeconds())).append("</td><td class=\"n\">").append(num(e.backupAgeSeconds()))
                    .append("</td><td class=\"n\">").append(num(e.databaseBytes())).append("</td><td><code>")
                    .append(esc(e.backupId() == null ? "" : e.backupId())).append("</code></td></tr>\n");
        }
        b.append("</table>\n<p><small>chrono-dr dr-test; the same figures are in <code>dr-test --format json</code>.</small></p>\n");
        b.append("</body></html>\n");
        return b.toString();
    }

    private static void objective(StringBuilder b, String label, String id, DrillReport.Objective o) {
        if (o == null) {
            return;
        }
        b.append("<tr><th>").append(label).append("</th><td class=\"n\" id=\"").append(id).append("-target\">").append(o.targetSeconds())
                .append("</td><td class=\"n\" id=\"").append(id).append("-measured\">").append(num(o.measuredSeconds()))
                .append("</td><td class=\"").append(o.met() ? "PASSED" : "FAILED").append("\">").append(o.met() ? "yes" : "MISSED")
                .append("</td><td>").append(esc(o.what())).append("</td></tr>\n");
    }

    /** A line chart of one figure over the drills, oldest left, with an optional dashed limit. */
    private static String chart(String id, String title, List<DrillHistory.Entry> points, ToDoubleFunction<DrillHistory.Entry> y, Double limit) {
        double max = points.stream().mapToDouble(y).max().orElse(1);
        // The limit is drawn when it is near enough to matter; far above, the trend would be a flat line at the bottom.
        boolean drawLimit = limit != null && limit <= max * 4;
        if (drawLimit) {
            max = Math.max(max, limit);
        }
        max = max <= 0 ? 1 : max * 1.1;
        StringBuilder s = new StringBuilder();
        s.append("<figure><figcaption>").append(esc(title)).append("</figcaption>\n<svg id=\"").append(id)
                .append("\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W).append("\" height=\"").append(H)
                .append("\" role=\"img\" aria-label=\"").append(esc(title)).append("\">\n");
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>%n", PAD, H - PAD / 2, W - 10, H - PAD / 2));
        s.append(String.format(Locale.ROOT, "<text x=\"4\" y=\"14\" font-size=\"11\">%s</text>%n", trim(max)));
        s.append(String.format(Locale.ROOT, "<text x=\"4\" y=\"%d\" font-size=\"11\">0</text>%n", H - PAD / 2));
        if (limit != null && !drawLimit) {
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"14\" font-size=\"11\" fill=\"#b00020\">RTO %s s: far above the chart</text>%n",
                    W - 170, trim(limit)));
        } else if (limit != null) {
            double ly = yPos(limit, max);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#b00020\" stroke-dasharray=\"6 4\"/>%n",
                    PAD, ly, W - 10, ly));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"#b00020\">RTO %s s</text>%n", W - 90, ly - 4, trim(limit)));
        }
        StringBuilder path = new StringBuilder();
        for (int i = 0; i < points.size(); i++) {
            double x = PAD + (points.size() == 1 ? 0 : (double) (W - PAD - 20) * i / (points.size() - 1));
            double v = y.applyAsDouble(points.get(i));
            path.append(i == 0 ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", x, yPos(v, max)));
            s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#4a7bd0\"><title>%s: %s</title></circle>%n",
                    x, yPos(v, max), esc(WHEN.format(points.get(i).startedAt().withOffsetSameInstant(ZoneOffset.UTC))), trim(v)));
        }
        s.append("<path d=\"").append(path).append("\" fill=\"none\" stroke=\"#4a7bd0\" stroke-width=\"2\"/>\n</svg></figure>\n");
        return s.toString();
    }

    private static double yPos(double v, double max) {
        return (H - PAD / 2.0) - (H - PAD) * (v / max);
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String num(Long v) {
        return v == null ? "" : String.valueOf(v);
    }

    /** Text for HTML content and attribute values. */
    static String esc(String s) {
        StringBuilder o = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> o.append("&amp;");
                case '<' -> o.append("&lt;");
                case '>' -> o.append("&gt;");
                case '"' -> o.append("&quot;");
                case '\'' -> o.append("&#39;");
                default -> o.append(c);
            }
        }
        return o.toString();
    }
}
