package dev.chronodr.cli;

import java.util.List;

import picocli.CommandLine;

/** Builds the picocli command line with chrono-dr's writers and error handling. */
public final class CommandLineFactory {
    private CommandLineFactory() {
    }

    /**
     * The command line for these arguments. Building picocli's model costs about 10 ms per
     * command; a run that names one gets that one only, --version none (completion, help
     * and words that name no command get them all).
     */
    public static CommandLine create(Cli cli, String... args) {
        CommandLine cl = new CommandLine(new ChronoDr(cli));
        Class<?> named = args.length > 0 ? ChronoDr.command(args[0]) : null;
        boolean versionOnly = args.length == 1 && args[0].equals("--version");
        List<Class<?>> commands = versionOnly ? List.of()
                : named == null || named == CompletionCommand.class ? ChronoDr.COMMANDS : List.of(named);
        for (Class<?> c : commands) {
            cl.addSubcommand(c);
        }
        ErrorHandler handler = new ErrorHandler(cli);
        cl.setOut(cli.out());
        cl.setErr(cli.err());
        cl.setExecutionExceptionHandler(handler);
        cl.setParameterExceptionHandler(handler);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setUsageHelpAutoWidth(true);
        cl.setHelpFactory(HelpLayout.FACTORY);
        return cl;
    }
}
