package dev.chronodr.cli;

import picocli.CommandLine.Option;

/** --help and --version without short forms: -h is the host, as in psql. */
public final class HelpOptions {
    @Option(names = "--help", usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Option(names = "--version", versionHelp = true, description = "Print the version and exit.")
    boolean version;
}
