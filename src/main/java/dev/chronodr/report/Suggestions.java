package dev.chronodr.report;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Puts the flags that chose the target and the repository into every {@code chrono-dr ...}
 * command chrono-dr prints (next steps, hints), so a suggestion pasted as printed acts on
 * the same database and repository instead of the defaults. The flags go right after the
 * subcommand, where picocli takes them in any order and the prose that may follow the
 * command stays untouched. A flag the suggested command does not accept, or already
 * names, is left out.
 */
public final class Suggestions {
    /** Nothing to add: output as the services wrote it. */
    public static final Suggestions NONE = new Suggestions(List.of(), (path, option) -> false, path -> false);

    private static final String PROGRAM = "chrono-dr ";
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_./:=@%+,-]+");

    /** One flag as the user gave it; {@code value} is null for a switch such as --sandbox. */
    public record Flag(String name, String value) {
        String text() {
            return value == null ? name : name + " " + quote(value);
        }
    }

    /** What the command line knows: which subcommands exist and which options each takes. */
    public interface Commands {
        boolean accepts(List<String> subcommandPath, String option);
    }

    /** Whether a word after {@code chrono-dr} (and its parents) names a subcommand. */
    public interface Subcommands {
        boolean exists(List<String> subcommandPath);
    }

    private final List<Flag> flags;
    private final Commands commands;
    private final Subcommands subcommands;

    public Suggestions(List<Flag> flags, Commands commands, Subcommands subcommands) {
        this.flags = List.copyOf(flags);
        this.commands = commands;
        this.subcommands = subcommands;
    }

    public boolean isEmpty() {
        return flags.isEmpty();
    }

    /** {@code text} with the context flags added to each chrono-dr command in it. */
    public String apply(String text) {
        if (text == null || flags.isEmpty() || !text.contains(PROGRAM)) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length() + 32);
        int from = 0;
        int at;
        while ((at = text.indexOf(PROGRAM, from)) >= 0) {
            int pathStart = at + PROGRAM.length();
            out.append(text, from, pathStart);
            List<String> path = new ArrayList<>();
            int end = pathStart;
            while (true) {
                int wordEnd = wordEnd(text, end);
                if (wordEnd == end) {
                    break;
                }
                List<String> longer = new ArrayList<>(path);
                longer.add(text.substring(end, wordEnd));
                if (!subcommands.exists(longer)) {
                    break;
                }
                path = longer;
                end = wordEnd;
                if (end < text.length() && text.charAt(end) == ' ' && wordEnd(text, end + 1) > end + 1) {
                    end++;
                } else {
                    break;
                }
            }
            if (path.isEmpty()) {
                from = pathStart;
                continue;
            }
            int pathEnd = pathStart + String.join(" ", path).length();
            out.append(text, pathStart, pathEnd);
            String rest = text.substring(pathEnd, commandEnd(text, pathEnd));
            for (Flag f : flags) {
                if (commands.accepts(path, f.name()) && !names(rest, f.name())) {
                    out.append(' ').append(f.text());
                }
            }
            from = pathEnd;
        }
        out.append(text, from, text.length());
        return out.toString();
    }

    private static int wordEnd(String text, int start) {
        int i = start;
        while (i < text.length() && (Character.isLetterOrDigit(text.charAt(i)) || text.charAt(i) == '-')) {
            i++;
        }
        return i;
    }

    /** Where the command ends: a closing quote or parenthesis, two spaces, or the end of the line. */
    private static int commandEnd(String text, int from) {
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\'' || c == ')' || c == '\n' || (c == ' ' && i + 1 < text.length() && text.charAt(i + 1) == ' ')) {
                return i;
            }
        }
        return text.length();
    }

    private static boolean names(String command, String flag) {
        for (String word : command.split(" ")) {
            if (word.equals(flag) || word.startsWith(flag + "=")) {
                return true;
            }
        }
        return false;
    }

    /** A value as a POSIX shell reads it back: bare when plain, else single-quoted. */
    public static String quote(String value) {
        if (!value.isEmpty() && PLAIN.matcher(value).matches()) {
            return value;
        }
        return "'" + value.replace("'", "'\\''") + "'";
    }
}
