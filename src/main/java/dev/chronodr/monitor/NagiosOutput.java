package dev.chronodr.monitor;

import java.util.List;
import java.util.stream.Collectors;

import dev.chronodr.core.Status;

/**
 * The Nagios plugin format: one line "CHRONO-DR STATUS - text | perfdata", the exit code
 * 0/1/2/3. Perfdata carries each check's unlabelled metrics as 'label'=value[UOM];warn;crit.
 */
final class NagiosOutput {
    private NagiosOutput() {
    }

    static String line(MonitorReport r) {
        String state = r.status() == Status.SKIPPED ? "OK" : r.status().name();
        List<CheckResult> bad = r.worstFirst().stream()
                .filter(c -> c.status() != Status.OK && c.status() != Status.SKIPPED).toList();
        String text;
        if (bad.isEmpty()) {
            long skipped = r.checks().stream().filter(c -> c.status() == Status.SKIPPED).count();
            text = (r.checks().size() - skipped) + " checks OK" + (skipped > 0 ? ", " + skipped + " skipped" : "") + " on " + r.server();
        } else {
            text = bad.stream().map(c -> c.status().name() + " " + c.name() + ": " + c.message()).collect(Collectors.joining("; "));
        }
        if (r.export() != null && !r.export().written()) {
            text += "; export to " + r.export().path() + " failed: " + r.export().error();
        }
        // '|' starts perfdata and a newline starts long output: neither may appear in the text.
        text = Text.oneLine(text.replace('|', '/'));
        StringBuilder perf = new StringBuilder();
        for (CheckResult c : r.checks()) {
            for (Metric m : c.metrics()) {
                if (m.labels().isEmpty()) {
                    perf.append(' ').append(perf(m));
                }
            }
        }
        perf.append(' ').append(perf(Metric.of("duration", r.durationMs() / 1000.0, Unit.SECONDS, null)).replace("duration_seconds", "duration"));
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
}
