package dev.chronodr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Terminal;
import dev.chronodr.testing.CliRun;

/**
 * What a user reads in --help, for every command and subcommand: no picocli warning, no path
 * or word broken across lines, and a root command list whose summaries are whole sentences.
 */
// It swaps System.err for a moment, which would catch other classes\' output.
@org.junit.jupiter.api.parallel.Isolated
class HelpTextTest {
    /**
     * Commands whose first description line is not yet a whole sentence. Their files are
     * being changed elsewhere; remove a name here when its summary is fixed.
     */
    private static final Set<String> SUMMARY_NOT_YET_A_SENTENCE = Set.of();

    @TempDir
    Path dir;

    /** Every command path, e.g. [], [check], [sandbox, start], from the real model. */
    private static List<List<String>> commandPaths() {
        CommandLine root = CommandLineFactory.create(
                new Cli(new java.io.PrintWriter(new java.io.StringWriter()), new java.io.PrintWriter(new java.io.StringWriter()),
                        java.io.InputStream.nullInputStream(), new Environment(Map.of(), Path.of(".")), Terminal.none()));
        List<List<String>> paths = new ArrayList<>();
        collect(root, new ArrayList<>(), paths);
        return paths;
    }

    private static void collect(CommandLine cl, List<String> prefix, List<List<String>> into) {
        into.add(List.copyOf(prefix));
        for (Map.Entry<String, CommandLine> sub : cl.getSubcommands().entrySet()) {
            List<String> next = new ArrayList<>(prefix);
            next.add(sub.getKey());
            collect(sub.getValue(), next, into);
        }
    }

    /** The help of one command path, with whatever picocli printed on System.err as well. */
    private CliRun help(List<String> path) {
        List<String> args = new ArrayList<>(path);
        args.add("--help");
        PrintStream saved = System.err;
        ByteArrayOutputStream picocliErr = new ByteArrayOutputStream();
        CliRun r;
        try {
            System.setErr(new PrintStream(picocliErr, true, StandardCharsets.UTF_8));
            r = CliRun.run(Map.of("PATH", System.getenv("PATH"), "HOME", dir.toString()), dir, args.toArray(String[]::new));
        } finally {
            System.setErr(saved);
        }
        return new CliRun(r.exitCode(), r.out(), r.err() + picocliErr.toString(StandardCharsets.UTF_8));
    }

    @Test
    void everyCommandsHelpHasNoWarningAndNoBrokenPathOrWord() {
        List<String> problems = new ArrayList<>();
        CommandLine model = CommandLineFactory.create(
                new Cli(new java.io.PrintWriter(new java.io.StringWriter()), new java.io.PrintWriter(new java.io.StringWriter()),
                        java.io.InputStream.nullInputStream(), new Environment(Map.of(), Path.of(".")), Terminal.none()));
        List<List<String>> paths = commandPaths();
        assertTrue(paths.size() > 16, "every command and subcommand: " + paths);
        for (List<String> path : paths) {
            String name = path.isEmpty() ? "chrono-dr" : "chrono-dr " + String.join(" ", path);
            CliRun r = help(path);
            if (r.exitCode() != 0) {
                problems.add(name + " --help: exit " + r.exitCode());
            }
            if (r.err().contains("WARN") || r.out().contains("[picocli")) {
                problems.add(name + " --help warns: " + r.err().lines().findFirst().orElse(""));
            }
            String text = r.out();
            for (String bad : List.of(". /", "pg_hba. conf", ": 1 for", "-style names", "=<")) {
                if (text.contains(bad)) {
                    problems.add(name + " --help breaks a path: '" + bad + "'");
                }
            }
            // Every word of every description, as the model holds it, comes out whole on one line.
            CommandLine cl = model;
            for (String word : path) {
                cl = cl.getSubcommands().get(word);
            }
            for (String word : words(cl.getCommandSpec())) {
                if (!text.contains(word)) {
                    problems.add(name + " --help breaks '" + word + "' across lines");
                }
            }
            for (String line : text.split("\n")) {
                if (line.length() > 80) {
                    problems.add(name + " --help: a line of " + line.length() + " columns: " + line);
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    /** The whitespace-free words of the command's description and its options' descriptions, as printed. */
    private static List<String> words(CommandSpec spec) {
        List<String> lines = new ArrayList<>(List.of(spec.usageMessage().description()));
        lines.addAll(List.of(spec.usageMessage().footer()));
        for (ArgSpec arg : spec.args()) {
            if (!arg.hidden()) {
                lines.addAll(List.of(arg.description()));
            }
        }
        List<String> words = new ArrayList<>();
        for (String line : lines) {
            String printed = line.replace("%n", "\n").replace("%%", "%");
            for (String w : printed.split("\\s+")) {
                if (w.length() > 1 && w.length() < 40 && !w.contains("${")) {
                    words.add(w);
                }
            }
        }
        return words;
    }

    @Test
    void theRootCommandListHasWholeSentences() {
        CliRun r = help(List.of());
        assertEquals(0, r.exitCode(), r.toString());
        String list = r.out().substring(r.out().indexOf("Commands:"), r.out().indexOf("Exit codes:"));
        // One entry: "  name   summary" and its continuation lines, joined.
        Matcher m = Pattern.compile("(?m)^  (\\S+) +(.*(?:\\n {5,}.*)*)").matcher(list);
        List<String> problems = new ArrayList<>();
        int seen = 0;
        while (m.find()) {
            seen++;
            String summary = m.group(2).replaceAll("\\s+", " ").trim();
            if (!summary.matches(".*[.!?]") && !SUMMARY_NOT_YET_A_SENTENCE.contains(m.group(1))) {
                problems.add(m.group(1) + ": '" + summary + "'");
            }
        }
        assertEquals(ChronoDr.COMMANDS.size(), seen, list);
        assertEquals(List.of(), problems, "summaries that stop mid-sentence");
    }

    @Test
    void aBareCommandIsAUsageErrorWithTheShortUsageOnStderr() {
        CliRun r = CliRun.run(Map.of("PATH", System.getenv("PATH"), "HOME", dir.toString()), dir);
        assertEquals(64, r.exitCode(), r.toString());
        assertEquals("", r.out(), r.toString());
        assertTrue(r.err().startsWith("chrono-dr: missing command\nUsage: chrono-dr"), r.err());
        assertTrue(r.err().contains("  backup "), r.err());
    }
}
