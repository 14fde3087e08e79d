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
        String s = oneLine(sql);
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    /** Runs of whitespace (newlines included) as one space, trimmed. A loop, not a regex: this runs cold, once. */
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

    /** {@code v} with {@code places} decimals (half up), without java.util.Formatter. */
    static String decimal(double v, int places) {
        return java.math.BigDecimal.valueOf(v).setScale(places, java.math.RoundingMode.HALF_UP).toPlainString();
    }

    /** Two digits, zero-padded. */
    static String two(long n) {
        return n < 10 ? "0" + n : String.valueOf(n);
    }

    /** Padded on the right to {@code width}. */
    static String pad(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }

    static String plural(long n, String one, String many) {
        return n + " " + (n == 1 ? one : many);
    }
}
