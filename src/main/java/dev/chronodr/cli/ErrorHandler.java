package dev.chronodr.cli;

import java.util.List;

import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.report.Format;
import dev.chronodr.report.Renderer;
import dev.chronodr.report.Suggestions;

/**
 * The one place that turns failures into exit codes and messages. Known failures are
 * one line with a hint; unknown ones show their stack trace only with --verbose.
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {
    private final Cli cli;

    ErrorHandler(Cli cli) {
        this.cli = cli;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
        Object command = cmd.getCommand();
        Format format = Format.TEXT;
        boolean verbose = false;
        Suggestions suggestions = SuggestionContext.of(cmd.getCommandSpec());
        if (command instanceof BaseCommand base) {
            try {
                format = base.format();
            } catch (ChronoException bad) {
                format = Format.TEXT;
            }
            verbose = base.verbose();
        }
        Renderer renderer = new Renderer(format == Format.JSON ? Format.JSON : Format.TEXT, false, suggestions);
        if (ex instanceof ChronoException known) {
            renderer.renderError(known.exitCode(), known.getMessage(), known.hint(), cli.out(), cli.err());
            if (verbose && known.getCause() != null) {
                known.getCause().printStackTrace(cli.err());
            }
            return known.exitCode().code();
        }
        String message = "unexpected error: " + ex;
        renderer.renderError(ExitCode.FAILED, message, verbose ? null : "run again with --verbose for details", cli.out(), cli.err());
        if (verbose) {
            ex.printStackTrace(cli.err());
        }
        cli.err().flush();
        return ExitCode.FAILED.code();
    }

    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        String name = cmd.getCommandSpec().qualifiedName();
        String message = ex.getMessage();
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            List<String> suggestions = u.getSuggestions();
            String first = u.getUnmatched().get(0);
            message = (first.startsWith("-") ? "unknown option '" : "unknown command or argument '") + first + "'"
                    + (suggestions.isEmpty() ? "" : "; did you mean " + String.join(" or ", suggestions.subList(0, Math.min(3, suggestions.size()))) + "?");
        }
        // picocli's own messages start with a capital ("Missing required parameter"); ours do not.
        if (message != null && message.length() > 1 && Character.isUpperCase(message.charAt(0))
                && Character.isLowerCase(message.charAt(1))) {
            message = Character.toLowerCase(message.charAt(0)) + message.substring(1);
        }
        boolean json = wantsJson(args);
        new Renderer(json ? Format.JSON : Format.TEXT, false)
                .renderError(ExitCode.USAGE, message, "see '" + name + " --help'", cli.out(), cli.err());
        return ExitCode.USAGE.code();
    }

    private static boolean wantsJson(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--format=json") || (args[i].equals("--format") && i + 1 < args.length && args[i + 1].equals("json"))) {
                return true;
            }
        }
        return false;
    }

}
