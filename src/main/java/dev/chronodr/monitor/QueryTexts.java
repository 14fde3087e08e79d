package dev.chronodr.monitor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.chronodr.report.CheckOutcome;

/**
 * Takes the SQL texts out of a report before it is served over HTTP: a query's text can
 * carry data (a literal, an e-mail address, a token), and an endpoint is read by more
 * people than the database is. Items lose their {@code query} values; messages lose the
 * one-line form the checks quote ({@link Text#query}), whole or cut with "…".
 */
final class QueryTexts {
    static final String HIDDEN = "(query text hidden)";
    /** A cut quote shorter than this is not searched for: too likely to match other words. */
    private static final int MIN_CUT = 12;

    private QueryTexts() {
    }

    static MonitorReport hide(MonitorReport r) {
        List<CheckOutcome> checks = r.checks().stream().map(QueryTexts::hide).toList();
        return new MonitorReport(r.status(), r.target(), r.server(), r.version(), r.role(), r.checkedAt(), r.durationMs(),
                checks, r.alert(), r.export());
    }

    static CheckOutcome hide(CheckOutcome c) {
        Set<String> texts = new LinkedHashSet<>();
        List<Map<String, Object>> items = new ArrayList<>();
        for (Map<String, Object> item : c.items()) {
            items.add(strip(item, texts));
        }
        String message = c.message();
        for (String t : texts) {
            message = unquote(message, Text.oneLine(t));
        }
        return new CheckOutcome(c.name(), c.status(), message, c.metrics(), items, c.group(), c.detail(), c.duration(), c.hint());
    }

    private static Map<String, Object> strip(Map<String, Object> item, Set<String> texts) {
        Map<String, Object> out = new LinkedHashMap<>();
        item.forEach((k, v) -> {
            if ("query".equals(k) && v instanceof String s) {
                texts.add(s);
                out.put(k, HIDDEN);
            } else {
                out.put(k, strip(v, texts));
            }
        });
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Object strip(Object v, Set<String> texts) {
        if (v instanceof Map<?, ?> m) {
            return strip((Map<String, Object>) m, texts);
        }
        if (v instanceof List<?> l) {
            return l.stream().map(e -> strip(e, texts)).toList();
        }
        return v;
    }

    /** {@code message} with every quote of {@code text} (whole, or a prefix cut with "…") replaced. */
    static String unquote(String message, String text) {
        if (message == null || text.isEmpty()) {
            return message;
        }
        String m = message.replace(text, HIDDEN);
        int p = m.indexOf('…');
        while (p >= 0) {
            int longest = Math.min(p, text.length());
            int cut = -1;
            for (int len = longest; len >= Math.min(MIN_CUT, text.length()) && len > 0; len--) {
                if (m.regionMatches(p - len, text, 0, len)) {
                    cut = len;
                    break;
                }
            }
            if (cut > 0) {
                m = m.substring(0, p - cut) + HIDDEN + m.substring(p + 1);
                p = m.indexOf('…', p - cut + HIDDEN.length());
            } else {
                p = m.indexOf('…', p + 1);
            }
        }
        return m;
    }
}
