package dev.chronodr.testing;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.Main;
import dev.chronodr.cli.Cli;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Terminal;
import dev.chronodr.core.Json;

/** Runs the real command line with captured writers; no System.out, no System.exit. */
public record CliRun(int exitCode, String out, String err) {

    public static CliRun run(Map<String, String> env, Path cwd, String... args) {
        return run(env, cwd, "", Terminal.none(), args);
    }

    public static CliRun run(Map<String, String> env, Path cwd, String stdin, Terminal terminal, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        Cli cli = new Cli(new PrintWriter(out, true), new PrintWriter(err, true),
                new ByteArrayInputStream(stdin.getBytes()), new Environment(env, cwd), terminal);
        int code = Main.run(cli, args);
        return new CliRun(code, out.toString(), err.toString());
    }

    /** stdout parsed as the one JSON document it must be. */
    public JsonNode json() {
        try {
            return Json.mapper().readTree(out);
        } catch (Exception e) {
            throw new AssertionError("stdout is not one JSON document: " + out + "\nstderr: " + err, e);
        }
    }

    @Override
    public String toString() {
        return "exit " + exitCode + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
}
