package dev.chronodr.report;

import java.util.List;
import java.util.Locale;

/**
 * A self-contained HTML page (no script, nothing fetched, so it opens from a mail attachment
 * or a CI artifact), built the way results build a {@link TextView}: the result says what is
 * on it, this class lays it out and escapes every text. Status words (OK, PASSED, WARNING,
 * CRITICAL, FAILED ...) used as a cell's class get their colour.
 */
public final class HtmlPage {
    private static final String STYLE = """
            body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:64em}
            h1{font-size:1.4em}.OK,.PASSED{color:#0a6b2d}.WARNING{color:#a05a00}.CRITICAL,.FAILED,.ERROR,.UNKNOWN{color:#b00020}
            .SKIPPED{color:#777}table{border-collapse:collapse;margin:.5em 0 1.5em}
            td,th{padding:.25em .75em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
            td.n{text-align:right;font-variant-numeric:tabular-nums}.bar{background:#4a7bd0;height:.8em;min-width:1px}
            svg{background:#fafafa;border:1px solid #ddd}small{color:#555}
            """;
    private static final int W = 640;
    private static final int H = 180;
    private static final int PAD = 40;

    private final StringBuilder b = new StringBuilder(8192);

    private HtmlPage(String title, String generator) {
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta name=\"generator\" content=\"")
                .append(esc(generator)).append("\">\n<title>").append(esc(title)).append("</title>\n<style>\n").append(STYLE)
                .append("</style></head><body>\n");
    }

    /** A page titled {@code title}; {@code generator} names the command that made it. */
    public static HtmlPage titled(String title, String generator) {
        return new HtmlPage(title, generator);
    }

    /** Text for HTML content and attribute values. */
    public static String esc(String s) {
        if (s == null) {
            return "";
        }
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

    /** A heading: {@code verdict} coloured and marked {@code id="verdict"}, then the text. */
    public HtmlPage heading(String command, String verdict, String about) {
        b.append("<h1>").append(esc(command)).append(" <span id=\"verdict\" class=\"").append(esc(verdict)).append("\">")
                .append(esc(verdict)).append("</span>: ").append(esc(about)).append("</h1>\n");
        return this;
    }

    public HtmlPage section(String title) {
        b.append("<h2>").append(esc(title)).append("</h2>\n");
        return this;
    }

    /** A paragraph of cells: plain text, or a figure with an id (see {@link #figure}). */
    public HtmlPage paragraph(Cell... parts) {
        b.append("<p>");
        for (Cell c : parts) {
            c.append(b, false);
        }
        b.append("</p>\n");
        return this;
    }

    /** A table with a header row; {@code id} may be null. */
    public HtmlPage table(String id, List<String> header, List<Row> rows) {
        b.append("<table").append(id == null ? "" : " id=\"" + esc(id) + "\"").append("><tr>");
        header.forEach(h -> b.append("<th>").append(esc(h)).append("</th>"));
        b.append("</tr>\n");
        for (Row r : rows) {
            b.append("<tr").append(r.key() == null ? "" : " data-key=\"" + esc(r.key()) + "\"").append(">");
            r.cells().forEach(c -> c.append(b, true));
            b.append("</tr>\n");
        }
        b.append("</table>\n");
        return this;
    }

    /** A line chart of {@code values}, oldest left, with an optional dashed limit drawn when near enough to matter. */
    public HtmlPage chart(String id, String title, List<String> labels, List<Double> values, Double limit, String limitLabel) {
        double max = values.stream().mapToDouble(Double::doubleValue).max().orElse(1);
        boolean drawLimit = limit != null && limit <= max * 4; // far above, the trend would be a flat line at the bottom
        if (drawLimit) {
            max = Math.max(max, limit);
        }
        max = max <= 0 ? 1 : max * 1.1;
        b.append("<figure><figcaption>").append(esc(title)).append("</figcaption>\n<svg id=\"").append(esc(id))
                .append("\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W).append("\" height=\"").append(H)
                .append("\" role=\"img\" aria-label=\"").append(esc(title)).append("\">\n");
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>%n", PAD, H - PAD / 2, W - 10, H - PAD / 2));
        b.append(String.format(Locale.ROOT, "<text x=\"4\" y=\"14\" font-size=\"11\">%s</text>%n", number(max)));
        b.append(String.format(Locale.ROOT, "<text x=\"4\" y=\"%d\" font-size=\"11\">0</text>%n", H - PAD / 2));
        if (limit != null && !drawLimit) {
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"14\" font-size=\"11\" fill=\"#b00020\">%s %s: far above the chart</text>%n",
                    W - 190, esc(limitLabel), number(limit)));
        } else if (limit != null) {
            double ly = y(limit, max);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#b00020\" stroke-dasharray=\"6 4\"/>%n",
                    PAD, ly, W - 10, ly));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"#b00020\">%s %s</text>%n",
                    W - 110, ly - 4, esc(limitLabel), number(limit)));
        }
        StringBuilder path = new StringBuilder();
        for (int i = 0; i < values.size(); i++) {
            double x = PAD + (values.size() == 1 ? 0 : (double) (W - PAD - 20) * i / (values.size() - 1));
            double v = values.get(i);
            path.append(i == 0 ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", x, y(v, max)));
            b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#4a7bd0\"><title>%s: %s</title></circle>%n",
                    x, y(v, max), esc(labels.get(i)), number(v)));
        }
        b.append("<path d=\"").append(path).append("\" fill=\"none\" stroke=\"#4a7bd0\" stroke-width=\"2\"/>\n</svg></figure>\n");
        return this;
    }

    /** The page, closed, with a last line saying where the same figures are as JSON. */
    public String build(String jsonCommand) {
        b.append("<p><small>The same figures: <code>").append(esc(jsonCommand)).append("</code>.</small></p>\n</body></html>\n");
        return b.toString();
    }

    private static double y(double v, double max) {
        return (H - PAD / 2.0) - (H - PAD) * (v / max);
    }

    private static String number(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.1f", v);
    }

    /** One row; {@code key} (may be null) becomes its data-key, for readers of the page. */
    public record Row(String key, List<Cell> cells) {
    }

    /**
     * A cell: text, with an optional class (a status word colours it; "n" right-aligns a
     * number), an id, and small lines under it; or a bar of {@code barPercent} width.
     */
    public record Cell(String text, String cssClass, String id, List<String> small, Double barPercent) {
        public static Cell text(String text) {
            return new Cell(text, null, null, List.of(), null);
        }

        public static Cell status(String word) {
            return new Cell(word, word, null, List.of(), null);
        }

        /** A figure, right-aligned, with an id when {@code id} is not null. */
        public static Cell figure(String id, Object value) {
            return new Cell(value == null ? "" : String.valueOf(value), "n", id, List.of(), null);
        }

        public static Cell bar(double percent) {
            return new Cell("", null, null, List.of(), percent);
        }

        public static Cell withNotes(String text, List<String> small) {
            return new Cell(text, null, null, List.copyOf(small), null);
        }

        void append(StringBuilder b, boolean inTable) {
            String tag = inTable ? "td" : "span";
            boolean plain = !inTable && cssClass == null && id == null && small.isEmpty();
            if (plain) {
                b.append(esc(text));
                return;
            }
            b.append('<').append(tag);
            if (cssClass != null && !(inTable == false && "n".equals(cssClass))) {
                b.append(" class=\"").append(esc(cssClass)).append('"');
            }
            if (id != null) {
                b.append(" id=\"").append(esc(id)).append('"');
            }
            b.append('>');
            if (barPercent != null) {
                b.append(String.format(Locale.ROOT, "<div class=\"bar\" style=\"width:%.1f%%\"></div>", barPercent));
            } else {
                b.append(esc(text));
            }
            for (String s : small) {
                b.append("<br><small>").append(esc(s)).append("</small>");
            }
            b.append("</").append(tag).append('>');
        }
    }
}
