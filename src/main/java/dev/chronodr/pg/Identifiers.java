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

    /**
     * A table name as a user types it on the command line: {@code table}, {@code schema.table},
     * or either part in double quotes ({@code "my schema"."t 1"}, {@code ""} for a quote
     * inside). Parts are kept exactly as typed, quotes removed; the schema is null when the
     * name has no dot outside quotes. Null when the quoting is broken.
     */
    public static String[] parseQualified(String typed) {
        java.util.List<String> parts = new java.util.ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        boolean wasQuoted = false;
        for (int i = 0; i < typed.length(); i++) {
            char ch = typed.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < typed.length() && typed.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    cur.append(ch);
                }
            } else if (ch == '"' && cur.length() == 0 && !wasQuoted) {
                quoted = true;
                wasQuoted = true;
            } else if (ch == '.') {
                parts.add(cur.toString());
                cur.setLength(0);
                wasQuoted = false;
            } else if (ch == '"' || wasQuoted) {
                return null; // a quote in the middle of a part, or text after a closing quote
            } else {
                cur.append(ch);
            }
        }
        if (quoted) {
            return null;
        }
        parts.add(cur.toString());
        if (parts.size() > 2 || parts.stream().anyMatch(String::isEmpty)) {
            return null;
        }
        return parts.size() == 1 ? new String[] {null, parts.get(0)} : new String[] {parts.get(0), parts.get(1)};
    }
}
