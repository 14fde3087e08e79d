package dev.chronodr.monitor;

import java.nio.file.Path;

import dev.chronodr.report.Format;
import dev.chronodr.report.ReportFile;

/**
 * {@code --export FILE}: the JSON report (the same document {@code --format json} prints)
 * written atomically, so a dashboard or cron reader never sees half a file. The file is
 * private to its owner: it can hold query texts, and with them data.
 */
final class ReportExport {
    private ReportExport() {
    }

    static MonitorReport.ExportOutcome write(MonitorReport report, Path file) {
        try {
            // The export's own outcome is not known until it is written; the file says it was asked for.
            ReportFile.write(file, Format.JSON, report.withExport(new MonitorReport.ExportOutcome(file.toString(), true, null)));
            return new MonitorReport.ExportOutcome(file.toString(), true, null);
        } catch (RuntimeException e) {
            return new MonitorReport.ExportOutcome(file.toString(), false, e.getMessage());
        }
    }
}
