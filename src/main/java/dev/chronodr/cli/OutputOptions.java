package dev.chronodr.cli;

import picocli.CommandLine.Option;

/** --format, -v/--verbose and -q/--quiet, shared by every command. */
public final class OutputOptions {
    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text",
            description = "Output format: ${COMPLETION-CANDIDATES}-style names; text (default) or json, and others where the command says.")
    String format = "text";

    @Option(names = {"-v", "--verbose"}, description = "More detail on stderr, and stack traces for unexpected errors.")
    boolean verbose;

    @Option(names = {"-q", "--quiet"}, description = "Only errors on stderr.")
    boolean quiet;
}
