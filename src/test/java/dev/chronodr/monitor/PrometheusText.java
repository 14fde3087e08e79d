package dev.chronodr.monitor;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text exposition format (0.0.4), enough to reject what
 * Prometheus or node_exporter's textfile collector would: bad names, bad label syntax or
 * escapes, unparsable values, HELP/TYPE repeated or after samples, a family's samples split
 * up, duplicate series. Returns every sample as "name{l1="v1",...}" (labels sorted) -> value.
 */
final class PrometheusText {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

    final Map<String, Double> samples = new LinkedHashMap<>();
    final Map<String, String> help = new HashMap<>();
    final Map<String, String> type = new HashMap<>();

    static PrometheusText parse(String text) {
        try {
            return read(text);
        } catch (IndexOutOfBoundsException e) {
            throw new AssertionError("prometheus text ends in the middle of a sample", e);
        }
    }

    private static PrometheusText read(String text) {
        PrometheusText p = new PrometheusText();
        Set<String> closed = new HashSet<>();
        String current = null;
        int n = 0;
        for (String line : text.split("\n", -1)) {
            n++;
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("#")) {
                String[] parts = line.split(" ", 4);
                if (parts.length >= 3 && (parts[1].equals("HELP") || parts[1].equals("TYPE"))) {
                    String name = parts[2];
                    require(NAME.matcher(name).matches(), n, "bad metric name " + name);
                    require(!closed.contains(name) && !name.equals(current) || !p.samplesOf(name), n, parts[1] + " after samples of " + name);
                    Map<String, String> target = parts[1].equals("HELP") ? p.help : p.type;
                    require(!target.containsKey(name), n, "second " + parts[1] + " for " + name);
                    String value = parts.length == 4 ? parts[3] : "";
                    if (parts[1].equals("TYPE")) {
                        require(TYPES.contains(value), n, "bad type " + value);
                    }
                    target.put(name, value);
                }
                continue;
            }
            int i = 0;
            while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
                i++;
            }
            String name = line.substring(0, i);
            require(NAME.matcher(name).matches(), n, "bad metric name '" + name + "'");
            if (!name.equals(current)) {
                require(!closed.contains(name), n, "samples of " + name + " are not together");
                if (current != null) {
                    closed.add(current);
                }
                current = name;
            }
            Map<String, String> labels = new TreeMap<>();
            if (i < line.length() && line.charAt(i) == '{') {
                i++;
                while (line.charAt(i) != '}') {
                    int eq = line.indexOf('=', i);
                    require(eq > 0, n, "label without =");
                    String label = line.substring(i, eq);
                    require(LABEL.matcher(label).matches(), n, "bad label name " + label);
                    require(line.charAt(eq + 1) == '"', n, "label value not quoted");
                    StringBuilder v = new StringBuilder();
                    int j = eq + 2;
                    for (; line.charAt(j) != '"'; j++) {
                        char c = line.charAt(j);
                        if (c == '\\') {
                            char e = line.charAt(++j);
                            require(e == '\\' || e == '"' || e == 'n', n, "bad escape \\" + e);
                            v.append(e == 'n' ? '\n' : e);
                        } else {
                            v.append(c);
                        }
                    }
                    require(labels.put(label, v.toString()) == null, n, "label " + label + " twice");
                    i = j + 1;
                    if (line.charAt(i) == ',') {
                        i++;
                    }
                }
                i++;
            }
            require(i < line.length() && line.charAt(i) == ' ', n, "no space before value");
            String[] rest = line.substring(i + 1).split(" ");
            require(rest.length == 1 || rest.length == 2, n, "junk after value");
            double value = switch (rest[0]) {
                case "NaN" -> Double.NaN;
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                default -> {
                    try {
                        yield Double.parseDouble(rest[0]);
                    } catch (NumberFormatException e) {
                        throw new AssertionError("line " + n + ": bad value " + rest[0]);
                    }
                }
            };
            StringBuilder key = new StringBuilder(name);
            if (!labels.isEmpty()) {
                key.append('{');
                labels.forEach((k, v) -> key.append(k).append("=\"").append(v).append("\","));
                key.setLength(key.length() - 1);
                key.append('}');
            }
            require(p.samples.put(key.toString(), value) == null, n, "duplicate series " + key);
        }
        return p;
    }

    private boolean samplesOf(String name) {
        return samples.keySet().stream().anyMatch(k -> k.equals(name) || k.startsWith(name + "{"));
    }

    private static void require(boolean ok, int line, String what) {
        if (!ok) {
            throw new AssertionError("prometheus text, line " + line + ": " + what);
        }
    }

    double value(String series) {
        Double v = samples.get(series);
        if (v == null) {
            throw new AssertionError("no series " + series + " in " + samples.keySet());
        }
        return v;
    }
}
