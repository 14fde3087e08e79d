package dev.chronodr.pg;

/** The one function that quotes identifiers that come from users. */
public final class Identifiers {
    private Identifiers() {
    }

    /** Always quotes, so mixed case, spaces and quotes survive: {@code a"b} becomes {@code "a""b"}. */
    public static String quote(String identifier) {
        if (identifier == null || identifier.isEmpty()) {
            throw new IllegalArgumentException("empty identifier");
        }
        if (identifier.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("identifier contains a NUL byte");
        }
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    /** schema.table, each part quoted. */
    public static String qualified(String schema, String name) {
        return quote(schema) + "." + quote(name);
    }
}
