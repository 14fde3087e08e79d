package dev.chronodr.cli;

import picocli.CommandLine;

/** Builds the picocli command line with chrono-dr's writers and error handling. */
public final class CommandLineFactory {
    private CommandLineFactory() {
    }

    public static CommandLine create(Cli cli) {
        CommandLine cl = new CommandLine(new ChronoDr(cli));
        ErrorHandler handler = new ErrorHandler(cli);
        cl.setOut(cli.out());
        cl.setErr(cli.err());
        cl.setExecutionExceptionHandler(handler);
        cl.setParameterExceptionHandler(handler);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setUsageHelpAutoWidth(true);
        return cl;
    }
}
