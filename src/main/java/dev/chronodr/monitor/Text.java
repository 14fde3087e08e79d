package dev.chronodr.monitor;

/** Small text helpers for one-line messages. */
final class Text {
    private Text() {
    }

    /** A query as it fits in a one-line message: whitespace collapsed, cut at {@code max} characters. */
    static String query(String sql, int max) {
        if (sql == null) {
            return "";
        }
        String s = sql.replaceAll("\\s+", " ").strip();
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    static String plural(long n, String one, String many) {
        return n + " " + (n == 1 ? one : many);
    }
}
