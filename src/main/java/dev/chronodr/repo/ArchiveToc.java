package dev.chronodr.repo;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The table of contents of a pg_dump archive, as {@code pg_restore --list} prints it:
 * {@code 221; 1259 16416 TABLE public domains postgres}. Names are not quoted there,
 * so entries are compared as "DESC NAMESPACE TAG" strings built the same way on the
 * other side, never split on spaces inside a name.
 */
public final class ArchiveToc {
    private static final Pattern LINE = Pattern.compile("^\\d+; \\d+ \\d+ (.*)$");
    /** Longest first, so "TABLE DATA" is not read as "TABLE". */
    private static final List<String> DESCS = List.of(
            "MATERIALIZED VIEW DATA", "SEQUENCE OWNED BY", "SEQUENCE SET", "MATERIALIZED VIEW", "FK CONSTRAINT",
            "TABLE DATA", "CONSTRAINT", "EXTENSION", "PROCEDURE", "FUNCTION", "SEQUENCE", "TRIGGER", "DEFAULT",
            "INDEX", "TABLE", "VIEW", "SCHEMA", "TYPE", "DOMAIN", "COMMENT", "ACL", "DATABASE");

    public record Entry(String desc, String rest) {
        /** "DESC NAMESPACE TAG" without the owner, which a restore with another role may change. */
        public String key() {
            return desc + " " + rest;
        }
    }

    private ArchiveToc() {
    }

    public static List<Entry> parse(String listing) {
        List<Entry> out = new ArrayList<>();
        for (String line : listing.split("\n")) {
            Matcher m = LINE.matcher(line);
            if (!m.matches()) {
                continue;
            }
            String body = m.group(1);
            for (String d : DESCS) {
                if (body.startsWith(d + " ")) {
                    String rest = body.substring(d.length() + 1);
                    // The owner is the last word; it is empty (a trailing space) for some entries.
                    int cut = rest.lastIndexOf(' ');
                    rest = cut >= 0 ? rest.substring(0, cut) : rest;
                    out.add(new Entry(d, rest));
                    break;
                }
            }
        }
        return out;
    }
}
