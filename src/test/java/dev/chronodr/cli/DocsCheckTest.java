package dev.chronodr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Terminal;

/**
 * Every command and flag the docs name exists: each "chrono-dr COMMAND --flag ..." in
 * docs/*.md and README.md (code blocks and `code` spans, and spans that start with a
 * command's name) is walked through the real picocli model.
 */
class DocsCheckTest {
    /**
     * Pages whose files are being changed elsewhere in parallel; each problem found there
     * is listed here until its page is fixed. Remove an entry when it is.
     */
    private static final Set<String> KNOWN_EXCEPTIONS = Set.of();

    private static final Pattern SPAN = Pattern.compile("`([^`]+)`");
    private static final Pattern INVOCATION = Pattern.compile("(?:^|[\\s/'\"(=])chrono-dr\\s+(.*)");
    /** What may stand before "chrono-dr" on a command line: a prompt, sudo, variables, a path, a quote. */
    private static final Pattern COMMAND_START = Pattern.compile(
            "\\s*(\\$\\s*)?((sudo( -u \\S+)?|runuser -u \\S+ --|[A-Z_]+=\\S*|exec|time|watch( -n \\d+)?)\\s+)*\\S*"
                    + "|.*['\"=(]\\s*\\S*|.*(&&|;|\\|)\\s*\\S*");
    private static final Set<String> STOP = Set.of("|", "||", "&&", ";", ">", ">>", "<", "2>&1", "&", "\\|");

    private final CommandLine model = CommandLineFactory.create(new Cli(new PrintWriter(new StringWriter()),
            new PrintWriter(new StringWriter()), InputStream.nullInputStream(), new Environment(Map.of(), Path.of(".")),
            Terminal.none()));

    private static List<Path> pages() throws IOException {
        List<Path> pages = new ArrayList<>();
        try (Stream<Path> docs = Files.list(Path.of("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        pages.add(Path.of("README.md"));
        return pages;
    }

    @Test
    void everyCommandAndFlagNamedInTheDocsExists() throws IOException {
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Path page : pages()) {
            List<String> lines = Files.readAllLines(page);
            boolean fenced = false;
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (line.strip().startsWith("```")) {
                    fenced = !fenced;
                    continue;
                }
                String where = page + ":" + (i + 1);
                if (fenced) {
                    // A shell line continued with '\' goes on on the next.
                    StringBuilder joined = new StringBuilder(line);
                    while (joined.toString().endsWith("\\") && i + 1 < lines.size()) {
                        joined.setLength(joined.length() - 1);
                        joined.append(' ').append(lines.get(++i));
                    }
                    String shell = joined.toString().replaceAll("(^|\\s)#.*", "");
                    for (String invocation : invocations(shell)) {
                        String before = shell.substring(0, shell.length() - invocation.length()).replaceAll("chrono-dr\\s+$", "");
                        if (!COMMAND_START.matcher(before).matches()) {
                            continue; // "chrono-dr" in a listing or a sentence, not a command line
                        }
                        checked++;
                        check(where, invocation, problems);
                    }
                } else {
                    Matcher m = SPAN.matcher(line);
                    while (m.find()) {
                        String span = m.group(1);
                        List<String> found = invocations(span);
                        if (found.isEmpty() && startsWithCommand(span)) {
                            found = List.of(span);
                        }
                        // docs/vacuum.md's option table: "| `--lock-timeout D` | ..." is vacuum's.
                        String pageCommand = page.getFileName().toString().replace(".md", "");
                        if (found.isEmpty() && line.startsWith("| `" + span) && span.startsWith("--")
                                && model.getSubcommands().containsKey(pageCommand)) {
                            found = List.of(pageCommand + " " + span);
                        }
                        for (String invocation : found) {
                            checked++;
                            check(where, invocation, problems);
                        }
                    }
                }
            }
        }
        assertTrue(checked > 100, "the docs name commands: " + checked);
        problems.removeIf(p -> KNOWN_EXCEPTIONS.stream().anyMatch(p::startsWith));
        assertEquals(List.of(), problems);
    }

    /** What follows each "chrono-dr" in a piece of text. */
    private static List<String> invocations(String text) {
        List<String> found = new ArrayList<>();
        Matcher m = INVOCATION.matcher(text);
        int from = 0;
        while (m.find(from)) {
            found.add(m.group(1));
            from = m.start(1);
            if (from >= text.length()) {
                break;
            }
        }
        return found;
    }

    /** "verify --backup ID": a span that starts with a command's name and then a flag. */
    private boolean startsWithCommand(String span) {
        String[] words = span.strip().split("\\s+");
        return words.length > 1 && model.getSubcommands().containsKey(words[0]) && words[1].startsWith("-");
    }

    private void check(String where, String invocation, List<String> problems) {
        CommandLine cl = model;
        boolean first = true;
        for (String raw : invocation.strip().split("\\s+")) {
            if (STOP.contains(raw) || raw.startsWith("#") || raw.startsWith(")") || raw.startsWith("$(")) {
                return;
            }
            String word = raw.replaceAll("^[\\[(<\"']+", "").replaceAll("[\\])>\"',.;:]+$", "");
            if (word.isEmpty() || word.equals("...")) {
                continue;
            }
            if (word.startsWith("--")) {
                String name = word.split("[=\\[|]", 2)[0];
                if (name.length() > 2 && cl.getCommandSpec().findOption(name) == null) {
                    problems.add(where + ": '" + name(cl) + " " + name + "' is not an option (in: chrono-dr " + invocation.strip() + ")");
                }
            } else if (word.matches("-[A-Za-z]+")) {
                for (char c : word.substring(1).toCharArray()) {
                    if (cl.getCommandSpec().findOption("-" + c) == null) {
                        problems.add(where + ": '" + name(cl) + " -" + c + "' is not an option (in: chrono-dr " + invocation.strip() + ")");
                    }
                }
            } else if (cl.getSubcommands().containsKey(word)) {
                cl = cl.getSubcommands().get(word);
            } else if (first && word.matches("[a-z][a-z-]*")) {
                problems.add(where + ": 'chrono-dr " + word + "' is not a command");
                return;
            }
            first = false;
        }
    }

    private static String name(CommandLine cl) {
        CommandSpec spec = cl.getCommandSpec();
        return spec.qualifiedName();
    }
}
