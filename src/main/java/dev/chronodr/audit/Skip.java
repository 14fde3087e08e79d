package dev.chronodr.audit;

import java.util.List;

/**
 * Part of a check that could not run, with the rules it would have evaluated and why.
 * An essential skip means the audit cannot give a clean bill (exit 3).
 */
public record Skip(String check, List<String> rules, String reason, boolean essential) {
    public Skip {
        rules = List.copyOf(rules);
    }
}
