package dev.chronodr.report;

import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

import dev.chronodr.core.Status;

/**
 * The Nagios plugin format: one line "CHRONO-DR STATUS - text | perfdata", the exit code
 * 0/1/2/3. Perfdata carries each check's unlabelled metrics as 'label'=value[UOM];warn;crit.
 */
final class NagiosRenderer {
    private NagiosRenderer() {
    }

    public static void render(HealthResult r, java.io.PrintWriter out) {
        out.println(line(r));
    }

    static String line(HealthResult r) {
        String state = r.status() == Status.SKIPPED ? "OK" : r.status().name();
        List<CheckOutcome> bad = r.outcomes().stream()
                .sorted(Comparator.comparingInt((CheckOutcome c) -> c.status().rank()).reversed())
                .filter(c -> c.status() != Status.OK && c.status() != Status.SKIPPED).toList();
        String text;
        if (bad.isEmpty()) {
            long skipped = r.outcomes().stream().filter(c -> c.status() == Status.SKIPPED).count();
            text = (r.outcomes().size() - skipped) + " checks OK" + (skipped > 0 ? ", " + skipped + " skipped" : "") + " on " + r.server();
        } else {
            text = bad.stream().map(c -> c.status().name() + " " + c.name() + ": " + c.message()).collect(Collectors.joining("; "));
        }
        if (r.problem() != null) {
            text += "; " + r.problem();
        }
        // '|' starts perfdata and a newline starts long output: neither may appear in the text.
        text = oneLine(text.replace('|', '/'));
        StringBuilder perf = new StringBuilder();
        for (CheckOutcome c : r.outcomes()) {
            for (Metric m : c.metrics()) {
                if (m.labels().isEmpty()) {
                    perf.append(' ').append(perf(m));
                }
            }
        }
        perf.append(' ').append(perf(Metric.of("duration", r.elapsed().toMillis() / 1000.0, Unit.SECONDS, null)).replace("duration_seconds", "duration"));
        return "CHRONO-DR " + state + " - " + text + " |" + perf;
    }

    static String perf(Metric m) {
        String label = m.name() + switch (m.unit()) {
            case SECONDS -> "_seconds";
            case BYTES -> "_bytes";
            default -> "";
        };
        String uom = switch (m.unit()) {
            case SECONDS -> "s";
            case BYTES -> "B";
            case PERCENT -> "%";
            case COUNT -> "";
        };
        return label + "=" + number(m.value()) + uom + ";" + range(m.warning(), m.lowerIsWorse())
                + ";" + range(m.critical(), m.lowerIsWorse()) + ";;";
    }

    /**
     * A level in the plugin guidelines' range syntax: "N" alerts above N, "N:" below N. A
     * lower-is-worse level (cache hit ratio 95) written plainly would read "alert above 95".
     */
    static String range(Double level, boolean lowerIsWorse) {
        if (level == null) {
            return "";
        }
        return number(level) + (lowerIsWorse ? ":" : "");
    }

    static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return String.valueOf((long) v);
        }
        return java.math.BigDecimal.valueOf(v).setScale(6, java.math.RoundingMode.HALF_UP).stripTrailingZeros().toPlainString();
    }

    /** Runs of whitespace (newlines included) as one space, trimmed. */
    static String oneLine(String text) {
        StringBuilder b = new StringBuilder(text.length());
        boolean space = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isWhitespace(c)) {
                space = b.length() > 0;
            } else {
                if (space) {
                    b.append(' ');
                    space = false;
                }
                b.append(c);
            }
        }
        return b.toString();
    }
}
