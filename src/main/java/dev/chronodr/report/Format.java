package dev.chronodr.report;

import java.util.Locale;

/** Output formats. Each command says which it supports. */
public enum Format {
    TEXT, JSON, JUNIT, NAGIOS, PROMETHEUS;

    public static Format parse(String s) {
        return valueOf(s.trim().toUpperCase(Locale.ROOT));
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
