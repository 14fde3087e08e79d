package dev.chronodr.cli;

import java.io.InputStream;
import java.io.PrintWriter;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Terminal;
import dev.chronodr.process.ProcessRunner;

/** What the entry point hands every command: its writers, input, environment and terminal. */
public record Cli(PrintWriter out, PrintWriter err, InputStream in, Environment env, Terminal terminal) {
    public ProcessRunner processRunner() {
        return new ProcessRunner(env.vars());
    }
}
