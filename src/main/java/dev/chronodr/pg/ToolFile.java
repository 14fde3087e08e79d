package dev.chronodr.pg;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import dev.chronodr.core.ChronoException;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessSpec;

/**
 * A small file that a tool reads by name (pg_restore -L LIST), written where the tool
 * runs: a temp file on this machine in local mode, under /tmp in the database's container
 * otherwise (a path on this machine means nothing inside the container). Closing removes it.
 */
public final class ToolFile implements AutoCloseable {
    private final PgTools tools;
    private final String path;
    private final Path local;

    private ToolFile(PgTools tools, String path, Path local) {
        this.tools = tools;
        this.path = path;
        this.local = local;
    }

    public static ToolFile write(PgTools tools, String prefix, List<String> lines) {
        String text = String.join("\n", lines) + "\n";
        if (tools.exec().mode() == ExecMode.LOCAL) {
            try {
                Path p = Files.createTempFile(prefix, ".list");
                Files.writeString(p, text);
                return new ToolFile(tools, p.toString(), p);
            } catch (IOException e) {
                throw ChronoException.failed("cannot write a temp file for " + prefix + ": " + e.getMessage(), "check TMPDIR");
            }
        }
        String path = "/tmp/" + prefix + "-" + UUID.randomUUID() + ".list";
        // tee, not a shell redirection: argv only; its copy on stdout is discarded.
        ProcessResult r = tools.runner().execute(ProcessSpec.of(tools.inContainer(List.of("tee", path)))
                .withTimeout(Duration.ofSeconds(60))
                .withStdin(out -> out.write(text.getBytes(StandardCharsets.UTF_8))));
        if (!r.succeeded()) {
            throw ChronoException.failed("cannot write " + path + " in the database's container: "
                    + (r.stderrTail().isBlank() ? "exit " + r.exitCode() : r.stderrTail().strip()),
                    "the container needs a writable /tmp");
        }
        return new ToolFile(tools, path, null);
    }

    /** The path as the tool sees it. */
    public String path() {
        return path;
    }

    @Override
    public void close() {
        try {
            if (local != null) {
                Files.deleteIfExists(local);
            } else {
                tools.runner().execute(ProcessSpec.of(tools.inContainer(List.of("rm", "-f", path))).withTimeout(Duration.ofSeconds(60)));
            }
        } catch (IOException | RuntimeException e) {
            // a leftover list of sequence names in a temp directory is harmless
        }
    }
}
