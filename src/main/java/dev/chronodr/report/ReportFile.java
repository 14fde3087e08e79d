package dev.chronodr.report;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Consumer;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;

/**
 * Writes a report file whole or not at all, private to its owner ({@link AtomicFile}). A
 * command's result goes into a file through the same renderers as to stdout, so a JSON file
 * carries the same envelope ({@code exit_code} first) as {@code --format json}.
 */
public final class ReportFile {
    private ReportFile() {
    }

    /** {@code result} rendered in {@code format} (no colour, no added flags) into {@code file}. */
    public static void write(Path file, Format format, CommandResult result) {
        write(file, w -> new Renderer(format, false).render(result, w));
    }

    public static void write(Path file, Consumer<PrintWriter> content) {
        try {
            // Reports name hosts, roles and findings: private to their owner (0600), like backups.
            AtomicFile.write(file, out -> {
                PrintWriter w = new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
                content.accept(w);
                w.flush();
                if (w.checkError()) {
                    throw new IOException("write failed");
                }
            });
        } catch (IOException e) {
            throw ChronoException.failed("cannot write " + file + ": " + e.getMessage(), "check the directory exists and is writable");
        }
    }
}
