package dev.chronodr.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.Status;

/**
 * Prometheus text exposition format (version 0.0.4), for node_exporter's textfile
 * collector: every metric is a gauge named chrono_dr_NAME with a base-unit suffix
 * (_seconds, _bytes; percentages become _ratio in 0..1), HELP and TYPE once per family,
 * and a target label so several targets can share a collector directory.
 */
final class PrometheusRenderer {
    private PrometheusRenderer() {
    }

    private record Family(String help, List<String> samples) {
    }

    public static void render(HealthResult r, java.io.PrintWriter out) {
        out.print(exposition(r));
    }

    static String exposition(HealthResult r) {
        Map<String, Family> families = new LinkedHashMap<>();
        Map<String, String> base = Map.of("target", r.target());
        add(families, "chrono_dr_status", "Overall monitor status: 0 ok, 1 warning, 2 critical, 3 unknown.", base,
                r.status().exitCode().code());
        for (CheckOutcome c : r.outcomes()) {
            if (c.status() != Status.SKIPPED) {
                Map<String, String> labels = new LinkedHashMap<>(base);
                labels.put("check", c.name());
                add(families, "chrono_dr_check_status", "Status of one check: 0 ok, 1 warning, 2 critical, 3 unknown (skipped checks are left out).",
                        labels, c.status().exitCode().code());
            }
        }
        add(families, "chrono_dr_monitor_duration_seconds", "Time the monitor pass took.", base, r.elapsed().toMillis() / 1000.0);
        add(families, "chrono_dr_monitor_timestamp_seconds", "When the monitor pass ran, as Unix time.", base,
                r.checkedAt().toInstant().toEpochMilli() / 1000.0);
        for (CheckOutcome c : r.outcomes()) {
            for (Metric m : c.metrics()) {
                Map<String, String> labels = new LinkedHashMap<>(base);
                labels.putAll(m.labels());
                double value = m.unit() == Unit.PERCENT ? m.value() / 100 : m.value();
                add(families, name(m), m.help(), labels, value);
            }
        }
        StringBuilder out = new StringBuilder();
        families.forEach((name, f) -> {
            out.append("# HELP ").append(name).append(' ').append(escapeHelp(f.help())).append('\n');
            out.append("# TYPE ").append(name).append(" gauge\n");
            f.samples().forEach(s -> out.append(s).append('\n'));
        });
        return out.toString();
    }

    static String name(Metric m) {
        String suffix = switch (m.unit()) {
            case SECONDS -> "_seconds";
            case BYTES -> "_bytes";
            case PERCENT -> "_ratio";
            case COUNT -> "";
        };
        return "chrono_dr_" + m.name() + suffix;
    }

    private static void add(Map<String, Family> families, String name, String help, Map<String, String> labels, double value) {
        Family f = families.computeIfAbsent(name, n -> new Family(help, new ArrayList<>()));
        StringBuilder s = new StringBuilder(name);
        if (!labels.isEmpty()) {
            s.append('{');
            boolean first = true;
            for (Map.Entry<String, String> e : labels.entrySet()) {
                if (!first) {
                    s.append(',');
                }
                first = false;
                s.append(e.getKey()).append("=\"").append(escapeLabel(e.getValue())).append('"');
            }
            s.append('}');
        }
        s.append(' ').append(number(value));
        f.samples().add(s.toString());
    }

    /** Integers as such, other values in plain decimal (no exponent), exact to the double. */
    static String number(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return Double.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
        }
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v)
                : java.math.BigDecimal.valueOf(v).toPlainString();
    }

    static String escapeLabel(String v) {
        return v == null ? "" : v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    static String escapeHelp(String v) {
        return v.replace("\\", "\\\\").replace("\n", "\\n");
    }
}
