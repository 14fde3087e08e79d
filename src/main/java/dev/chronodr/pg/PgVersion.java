package dev.chronodr.pg;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A PostgreSQL version as {@code server_version_num} encodes it (150018 = 15.18). */
public record PgVersion(int num) implements Comparable<PgVersion> {
    private static final Pattern TOOL_VERSION = Pattern.compile("\\(PostgreSQL\\)\\s+(\\d+)(?:\\.(\\d+))?");

    public int major() {
        return num >= 100000 ? num / 10000 : num / 100;
    }

    public static PgVersion ofMajor(int major) {
        return new PgVersion(major * 10000);
    }

    /** Parses the first line of {@code pg_dump --version}: "pg_dump (PostgreSQL) 15.18 (Debian ...)". */
    public static PgVersion parseToolVersion(String text) {
        Matcher m = TOOL_VERSION.matcher(text);
        if (!m.find()) {
            throw new IllegalArgumentException("not a PostgreSQL tool version: " + text.strip());
        }
        int major = Integer.parseInt(m.group(1));
        int minor = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
        return new PgVersion(major * 10000 + minor);
    }

    @Override
    public int compareTo(PgVersion o) {
        return Integer.compare(num, o.num);
    }

    @Override
    public String toString() {
        return major() + "." + (num % 10000);
    }
}
