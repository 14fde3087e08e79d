package dev.chronodr.monitor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.report.Json;

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
            MonitorReport withPath = report.withExport(new MonitorReport.ExportOutcome(file.toString(), true, null));
            ObjectNode doc = Json.mapper().createObjectNode();
            doc.put("exit_code", withPath.exitCode().code());
            doc.setAll((ObjectNode) Json.mapper().valueToTree(withPath));
            AtomicFile.write(file, (Json.mapper().writeValueAsString(doc) + "\n").getBytes(StandardCharsets.UTF_8));
            return new MonitorReport.ExportOutcome(file.toString(), true, null);
        } catch (IOException | RuntimeException e) {
            return new MonitorReport.ExportOutcome(file.toString(), false, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
