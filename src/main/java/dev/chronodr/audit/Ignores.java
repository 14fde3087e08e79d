package dev.chronodr.audit;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import dev.chronodr.core.ChronoException;

/**
 * Accepted risks from --ignore and the config's audit.ignore. An entry is a rule id
 * (every finding of that rule, and a skip of it) or RULE-ID:object (that one finding).
 * Unknown rule ids are refused, so a typo cannot silently accept nothing.
 */
final class Ignores {
    record Entry(String rule, String object, String reason) {
    }

    private final List<Entry> entries;

    private Ignores(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    static Ignores of(List<AuditConfig.IgnoreEntry> fromConfig, List<String> fromCli) {
        List<Entry> entries = new ArrayList<>();
        for (AuditConfig.IgnoreEntry e : fromConfig) {
            entries.add(parse(e.id(), e.reason() == null ? "accepted in the config" : e.reason(), "audit.ignore in the config"));
        }
        for (String s : fromCli) {
            entries.add(parse(s, "--ignore", "--ignore"));
        }
        return new Ignores(entries);
    }

    private static Entry parse(String text, String reason, String where) {
        String t = text.trim();
        int colon = t.indexOf(':');
        String id = colon < 0 ? t : t.substring(0, colon);
        String object = colon < 0 ? null : t.substring(colon + 1);
        Rule rule = Rule.byId(id).orElseThrow(() -> ChronoException.usage(
                "unknown audit rule '" + id + "' in " + where,
                "rule ids look like AUTH-TRUST or PASSWORD-WEAK; docs/audit.md lists them all"));
        if (object != null && object.isEmpty()) {
            throw ChronoException.usage("'" + t + "' in " + where + " names no object after the colon",
                    "write " + rule.id() + " (every finding) or " + rule.id() + ":OBJECT (one finding)");
        }
        return new Entry(rule.id(), object, reason);
    }

    Optional<String> reasonFor(Finding f) {
        return entries.stream()
                .filter(e -> e.rule().equals(f.id().toUpperCase(Locale.ROOT)) && (e.object() == null || e.object().equals(f.object())))
                .map(Entry::reason).findFirst();
    }

    /** A skip is accepted only when every rule it would have evaluated is ignored as a whole. */
    Optional<String> reasonFor(Skip s) {
        List<String> reasons = new ArrayList<>();
        for (String rule : s.rules()) {
            Optional<String> r = entries.stream().filter(e -> e.rule().equals(rule) && e.object() == null).map(Entry::reason).findFirst();
            if (r.isEmpty()) {
                return Optional.empty();
            }
            reasons.add(r.get());
        }
        return reasons.isEmpty() ? Optional.empty() : Optional.of(reasons.get(0));
    }
}
