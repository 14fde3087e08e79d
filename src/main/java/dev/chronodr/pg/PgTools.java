package dev.chronodr.pg;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.chronodr.core.ChronoException;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/**
 * Runs PostgreSQL's tools in one of three modes: on this machine, through
 * {@code docker compose exec -T}, or through {@code docker exec -i}. Only argv lists;
 * the password reaches the child through its environment (for docker, {@code -e PGPASSWORD}
 * names the variable and docker takes the value from its own environment).
 */
public final class PgTools {
    private final ExecSettings exec;
    private final ConnectionSettings conn;
    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final PgVersion server;
    private final Map<PgTool, ToolLocator.Located> located = new LinkedHashMap<>();
    private ComposeFrontEnd compose;

    public PgTools(ExecSettings exec, ConnectionSettings conn, ProcessRunner runner, ToolLocator locator, PgVersion server) {
        this.exec = exec;
        this.conn = conn;
        this.runner = runner;
        this.locator = locator;
        this.server = server;
    }

    public ExecSettings exec() {
        return exec;
    }

    public ConnectionSettings connection() {
        return conn;
    }

    public ProcessRunner runner() {
        return runner;
    }

    public PgVersion serverVersion() {
        return server;
    }

    /** Which docker compose runs the tools in compose mode; detected once, on first use. */
    public ComposeFrontEnd composeFrontEnd() {
        if (compose == null) {
            compose = ComposeFrontEnd.detect(exec.dockerBinary(), runner);
        }
        return compose;
    }

    /** A command (df, say) inside the database's container, in compose or docker mode. */
    public List<String> inContainer(List<String> command) {
        return composeFrontEnd().inContainer(exec, command);
    }

    /** Local mode: the binary chosen for this server, or why none fits. */
    public ToolLocator.Located locate(PgTool tool) {
        return located.computeIfAbsent(tool, t -> locator.locate(t, server));
    }

    /** {@code -h -p -U} as the tool sees the server (inside the container in compose/docker modes). */
    public List<String> connectionArgs() {
        List<String> args = new ArrayList<>();
        if (exec.mode() == ExecMode.LOCAL) {
            args.addAll(List.of("-h", conn.host(), "-p", String.valueOf(conn.port())));
        } else {
            if (exec.containerHost() != null && !exec.containerHost().isBlank()) {
                args.addAll(List.of("-h", exec.containerHost()));
            }
            args.addAll(List.of("-p", String.valueOf(exec.containerPort())));
        }
        args.addAll(List.of("-U", conn.user()));
        return args;
    }

    /** Environment the tool needs: the password and libpq settings. Never put into argv. */
    public Map<String, String> toolEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        if (conn.password() != null) {
            env.put("PGPASSWORD", conn.password().reveal());
        }
        if (conn.sslmode() != null) {
            env.put("PGSSLMODE", conn.sslmode());
        }
        env.put("PGAPPNAME", "chrono-dr");
        env.put("PGCONNECT_TIMEOUT", "10");
        return env;
    }

    /** The full argv for a tool with its arguments, in the configured mode. */
    public List<String> argv(PgTool tool, List<String> args) {
        List<String> argv = new ArrayList<>();
        switch (exec.mode()) {
            case LOCAL -> {
                ToolLocator.Located l = locate(tool);
                if (!l.usable()) {
                    throw ChronoException.unknown(l.problem(), "or run the tools in the database container with --exec compose");
                }
                argv.add(l.path().toString());
            }
            case COMPOSE -> {
                List<String> words = new ArrayList<>(List.of("exec", "-T"));
                toolEnv().keySet().forEach(k -> words.addAll(List.of("-e", k)));
                words.add(exec.composeService());
                words.add(tool.binary());
                argv.addAll(composeFrontEnd().argv(exec, words));
            }
            case DOCKER -> {
                argv.addAll(List.of(exec.dockerBinary(), "exec", "-i"));
                toolEnv().keySet().forEach(k -> argv.addAll(List.of("-e", k)));
                argv.add(exec.container());
                argv.add(tool.binary());
            }
        }
        argv.addAll(args);
        return argv;
    }

    /** A spec for the tool; the caller adds stdin/stdout handling and a timeout. */
    public ProcessSpec spec(PgTool tool, List<String> args) {
        // libpq variables from the caller's shell must not override what chrono-dr resolved.
        return ProcessSpec.of(argv(tool, args))
                .withoutEnv(List.of("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGOPTIONS"))
                .withEnv(toolEnv());
    }

    /** Runs it; a failure becomes a {@link ChronoException} with a cause and a hint. */
    public ProcessResult run(ProcessSpec spec) {
        try {
            return runner.run(spec);
        } catch (ProcessFailedException e) {
            throw ToolFailures.explain(e);
        }
    }
}
