package dev.chronodr.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import dev.chronodr.report.Suggestions;

/**
 * The one place that decides which of the user's flags every printed chrono-dr command
 * must carry: those that chose the database and the repository. Services write their
 * suggestions without them; the renderer adds these.
 */
final class SuggestionContext {
    /** Options that pick the target, its connection or the repository; never secrets (a password file is a path). */
    static final Set<String> CARRIED = Set.of("--config", "--target", "--sandbox", "--repo", "--host", "--port", "--dbname",
            "--username", "--password-file", "--sslmode", "--exec", "--service", "--compose-file", "--container");

    private SuggestionContext() {
    }

    static Suggestions of(CommandSpec spec) {
        // The root holds the parse result; the subcommand's own is the last in its chain.
        ParseResult parsed = spec.root().commandLine().getParseResult();

        while (parsed != null && parsed.commandSpec() != spec && parsed.hasSubcommand()) {
            parsed = parsed.subcommand();
        }
        if (parsed == null || parsed.commandSpec() != spec) {
            return Suggestions.NONE;
        }
        List<Suggestions.Flag> flags = carried(parsed);
        if (flags.isEmpty()) {
            return Suggestions.NONE;
        }
        CommandLine root = spec.root().commandLine();
        return new Suggestions(flags,
                (path, option) -> {
                    CommandLine c = find(root, path);
                    return c != null && c.getCommandSpec().findOption(option) != null;
                },
                path -> find(root, path) != null);
    }

    /** The flags of {@code spec}'s own parse that chose the target, its connection or the repository, as given. */
    static List<Suggestions.Flag> carried(CommandSpec spec) {
        ParseResult parsed = spec.root().commandLine().getParseResult();
        while (parsed != null && parsed.commandSpec() != spec && parsed.hasSubcommand()) {
            parsed = parsed.subcommand();
        }
        return parsed == null || parsed.commandSpec() != spec ? List.of() : carried(parsed);
    }

    private static List<Suggestions.Flag> carried(ParseResult parsed) {
        List<Suggestions.Flag> flags = new ArrayList<>();
        for (OptionSpec o : parsed.matchedOptions()) {
            String name = o.longestName();
            if (!CARRIED.contains(name)) {
                continue;
            }
            if (o.arity().max() == 0) {
                flags.add(new Suggestions.Flag(name, null));
            } else {
                List<String> values = o.originalStringValues();
                if (!values.isEmpty()) {
                    flags.add(new Suggestions.Flag(name, values.get(values.size() - 1)));
                }
            }
        }
        return flags;
    }

    /** The command a path names; the launcher registers only the one it runs, so others are modelled here. */
    private static CommandLine find(CommandLine root, List<String> path) {
        if (path.isEmpty()) {
            return root;
        }
        CommandLine c = root.getSubcommands().get(path.get(0));
        if (c == null) {
            Class<?> type = ChronoDr.command(path.get(0));
            if (type == null) {
                return null;
            }
            c = new CommandLine(type);
        }
        for (String name : path.subList(1, path.size())) {
            c = c.getSubcommands().get(name);
            if (c == null) {
                return null;
            }
        }
        return c;
    }
}
