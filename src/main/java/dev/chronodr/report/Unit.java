package dev.chronodr.report;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a metric or threshold measures. Values are kept in base units (seconds, bytes,
 * percent 0..100, plain counts) and parsed from the spellings people type in flags and YAML.
 */
public enum Unit {
    COUNT, PERCENT, SECONDS, BYTES;

    private static final Pattern NUMBER_SUFFIX = Pattern.compile("([0-9]+(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\\s*([a-zA-Z%]*)");

    /** Parses "80", "80%", "30s", "5m", "1h", "2d", "500ms", "PT5M", "16MB", "1GiB"; null for off/none. */
    public Double parse(String text) {
        String t = text == null ? "" : text.strip();
        if (t.equalsIgnoreCase("off") || t.equalsIgnoreCase("none")) {
            return null;
        }
        if (this == SECONDS && t.toUpperCase(Locale.ROOT).startsWith("P")) {
            try {
                return java.time.Duration.parse(t).toMillis() / 1000.0;
            } catch (java.time.format.DateTimeParseException e) {
                throw new IllegalArgumentException("'" + text + "' is not a duration");
            }
        }
        Matcher m = NUMBER_SUFFIX.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not " + expected());
        }
        double n = Double.parseDouble(m.group(1));
        String suffix = m.group(2).toLowerCase(Locale.ROOT);
        double factor = switch (this) {
            case COUNT -> suffix.isEmpty() ? 1 : -1;
            case PERCENT -> suffix.isEmpty() || suffix.equals("%") ? 1 : -1;
            case SECONDS -> switch (suffix) {
                case "ms" -> 0.001;
                case "", "s", "sec" -> 1;
                case "m", "min" -> 60;
                case "h" -> 3600;
                case "d" -> 86400;
                default -> -1;
            };
            // Powers of 1024, as postgresql.conf reads kB, MB and GB.
            case BYTES -> switch (suffix) {
                case "", "b" -> 1;
                case "k", "kb", "kib" -> 1024;
                case "m", "mb", "mib" -> 1024.0 * 1024;
                case "g", "gb", "gib" -> 1024.0 * 1024 * 1024;
                case "t", "tb", "tib" -> 1024.0 * 1024 * 1024 * 1024;
                default -> -1;
            };
        };
        if (factor < 0) {
            throw new IllegalArgumentException("'" + text + "' is not " + expected());
        }
        return n * factor;
    }

    public String expected() {
        return switch (this) {
            case COUNT -> "a whole number";
            case PERCENT -> "a percentage such as 80 or 80%";
            case SECONDS -> "a duration such as 500ms, 30s, 5m, 1h or 2d";
            case BYTES -> "a size such as 512MB or 2GB (powers of 1024)";
        };
    }

    /** A value for people: "5m00s", "1.2 GiB", "91%", "42". */
    public String format(double v) {
        return switch (this) {
            case COUNT -> v == Math.rint(v) ? String.valueOf((long) v) : decimal(v, 1);
            case PERCENT -> (v == Math.rint(v) ? String.valueOf((long) v) : v >= 0.1 ? decimal(v, 1) : "<0.1") + "%";
            case SECONDS -> seconds(v);
            case BYTES -> TextOutput.bytes((long) v);
        };
    }

    public static String seconds(double v) {
        if (v < 1) {
            return Math.round(v * 1000) + "ms";
        }
        if (v < 60) {
            return decimal(v, 1) + "s";
        }
        long s = (long) v;
        if (s < 3600) {
            return s / 60 + "m" + two(s % 60) + "s";
        }
        if (s < 86400) {
            return s / 3600 + "h" + two(s / 60 % 60) + "m";
        }
        return s / 86400 + "d" + two(s / 3600 % 24) + "h";
    }

    private static String decimal(double v, int places) {
        return java.math.BigDecimal.valueOf(v).setScale(places, java.math.RoundingMode.HALF_UP).toPlainString();
    }

    private static String two(long n) {
        return n < 10 ? "0" + n : String.valueOf(n);
    }
}
