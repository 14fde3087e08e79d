package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.advise.AdviseRequest;
import dev.chronodr.advise.AdviseService;
import dev.chronodr.core.ChronoException;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.Unit;

@Command(name = "advise", sortOptions = false,
        description = {"Read-only index and query advice for one database, each finding with the SQL that would act on it.",
                "It looks for foreign keys without an index, duplicate, overlapping and unused indexes, tables read",
                "by sequential scans, bloat, and the slowest statements.",
                "The SQL is printed, never run.",
                "Exit 0 nothing to advise, 1 advice given, 64 bad input."})
public final class AdviseCommand extends BaseCommand {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--min-size", paramLabel = "SIZE", defaultValue = "1MB",
            description = "Leave out unused indexes and bloated tables smaller than SIZE (default 1MB; kB, MB, GB).")
    String minSize;

    @Option(names = "--seq-scan-min-rows", paramLabel = "N", defaultValue = "10000",
            description = "Tables with fewer live rows are not reported for sequential scans (default 10000).")
    long seqScanMinRows;

    @Option(names = "--fk-min-rows", paramLabel = "N", defaultValue = "1000",
            description = "Foreign keys on tables with fewer rows are not reported (default 1000).")
    long fkMinRows;

    @Option(names = "--bloat-min-percent", paramLabel = "N", defaultValue = "30",
            description = "Report tables whose estimated free space is at least N%% (default 30).")
    double bloatMinPercent;

    @Option(names = "--statements", paramLabel = "N", defaultValue = "5",
            description = "How many of the statements with the most total time to list (default 5; 0 for none).")
    int statements;

    @Override
    protected CommandResult execute() {
        if (seqScanMinRows < 0 || fkMinRows < 0 || statements < 0 || bloatMinPercent < 0 || bloatMinPercent > 100) {
            throw ChronoException.usage("--seq-scan-min-rows, --fk-min-rows and --statements must be 0 or more,"
                    + " --bloat-min-percent 0 to 100", null);
        }
        AdviseRequest req = new AdviseRequest(size(minSize), seqScanMinRows, fkMinRows, bloatMinPercent, statements);
        return new AdviseService().advise(services().target(connection), req);
    }

    static long size(String s) {
        try {
            Double bytes = Unit.BYTES.parse(s);
            return bytes == null ? 0 : bytes.longValue();
        } catch (IllegalArgumentException e) {
            throw ChronoException.usage("--min-size '" + s + "' is not a size", "write it like 512kB, 8MB or 1GB");
        }
    }
}
