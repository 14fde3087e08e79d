package dev.chronodr.cli;

import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import dev.chronodr.core.ChronoException;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.Format;
import dev.chronodr.report.Renderer;

/**
 * Every subcommand: parse, build a request, call a core service, render its one result.
 * The exit code comes from the result; failures go to {@link ErrorHandler}.
 */
public abstract class BaseCommand implements Callable<Integer> {
    @Spec
    protected CommandSpec spec;

    @Mixin
    HelpOptions help;

    @Mixin
    protected OutputOptions output;

    private Services services;

    protected Cli cli() {
        return ((ChronoDr) spec.root().userObject()).cli();
    }

    /** Target, runner, tools, progress and repository, built from {@link #cli()} in one place. */
    Services services() {
        if (services == null) {
            services = new Services(cli(), output.quiet);
        }
        return services;
    }

    /** Formats this command can print; text and JSON unless it says more. */
    protected Set<Format> formats() {
        return EnumSet.of(Format.TEXT, Format.JSON);
    }

    protected abstract CommandResult execute();

    @Override
    public final Integer call() {
        Format format = format();
        configureLogging();
        CommandResult result = execute();
        renderer(format).render(result, cli().out());
        return result.exitCode().code();
    }

    Renderer renderer(Format format) {
        return new Renderer(format, cli().terminal().color(), SuggestionContext.of(spec));
    }

    /** The requested format, validated; used by the error handler too. */
    Format format() {
        Format f;
        try {
            f = Format.parse(output.format);
        } catch (IllegalArgumentException e) {
            f = null;
        }
        if (f == null || !formats().contains(f)) {
            throw ChronoException.usage("unknown --format '" + output.format + "' for " + spec.name(),
                    "use one of: " + formats().stream().map(Format::label).collect(Collectors.joining(", ")));
        }
        return f;
    }

    boolean verbose() {
        return output.verbose;
    }

    /**
     * WARN is LoggingSetup's default, so a process that runs one command (Main.main) leaves
     * logging alone without -v or -q; callers that run several in one JVM get it reset.
     */
    private void configureLogging() {
        if (!output.verbose && !output.quiet && dev.chronodr.Preload.started()) {
            return;
        }
        dev.chronodr.Preload.awaitLogging();
        if (LoggerFactory.getLogger("dev.chronodr") instanceof Logger app) {
            app.setLevel(output.verbose ? Level.DEBUG : output.quiet ? Level.ERROR : Level.WARN);
        }
    }
}
