package dev.chronodr.cli;

import picocli.CommandLine.Option;

/** --format, -v/--verbose and -q/--quiet, shared by every command. */
public final class OutputOptions {
    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text",
            description = "Output format: text (default) or json; audit, verify and dr-test also junit, monitor also nagios and prometheus.")
    String format = "text";

    @Option(names = {"-v", "--verbose"}, description = "More detail on stderr, and stack traces for unexpected errors.")
    boolean verbose;

    @Option(names = {"-q", "--quiet"}, description = "Only errors on stderr.")
    boolean quiet;
}
