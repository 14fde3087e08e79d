package dev.chronodr.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import dev.chronodr.core.ChronoException;
import dev.chronodr.report.CommandResult;
import dev.chronodr.sandbox.Sandbox;

@Command(name = "sandbox", description = "A throwaway PostgreSQL cluster with a seeded Chrono Scraper database.",
        synopsisSubcommandLabel = "(start | stop | status | remove)",
        subcommands = {SandboxCommand.Start.class, SandboxCommand.Stop.class, SandboxCommand.Status.class, SandboxCommand.Remove.class})
public final class SandboxCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @picocli.CommandLine.Mixin
    HelpOptions help;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing subcommand: start, stop, status or remove");
    }

    @Command(name = "start", description = {"Create, seed and start the sandbox (or start it if stopped).",
            "It lives in CHRONO_DR_SANDBOX, else ~/.local/state/chrono-dr/sandbox (as root /var/lib/chrono-dr/sandbox)."})
    static final class Start extends BaseCommand {
        @Option(names = "--scale", paramLabel = "N", defaultValue = "1", description = "Size of the demo data; 1 is a few tens of MB (default 1).")
        int scale;

        @Option(names = "--port", paramLabel = "PORT", defaultValue = "0", description = "Port to listen on (default: a free one).")
        int port;

        @Option(names = "--image", paramLabel = "IMAGE",
                description = {"Run the server in a Docker container of this image (one with the official postgres image's interface,",
                        "e.g. postgres:17) instead of a local cluster; PostgreSQL's tools then run inside it."})
        String image;

        @Override
        protected CommandResult execute() {
            if (scale < 1 || scale > 1000) {
                throw ChronoException.usage("--scale " + scale + " is out of range", "use 1 to 1000");
            }
            if (port < 0 || port > 65535) {
                throw ChronoException.usage("--port " + port + " is out of range", "use a port between 1 and 65535, or leave it out");
            }
            if (image != null && image.isBlank()) {
                throw ChronoException.usage("--image is empty", "name an image, e.g. --image postgres:17");
            }
            return Sandbox.at(cli().env()).start(scale, port, image, services().runner());
        }
    }

    @Command(name = "stop", description = "Stop the sandbox server (data is kept).")
    static final class Stop extends BaseCommand {
        @Override
        protected CommandResult execute() {
            return Sandbox.at(cli().env()).stop(services().runner());
        }
    }

    @Command(name = "status", description = "Where the sandbox is and whether it runs.")
    static final class Status extends BaseCommand {
        @Override
        protected CommandResult execute() {
            return Sandbox.at(cli().env()).status(services().runner());
        }
    }

    @Command(name = "remove", description = "Stop the sandbox and delete it with its backups.")
    static final class Remove extends BaseCommand {
        @Override
        protected CommandResult execute() {
            return Sandbox.at(cli().env()).remove(services().runner());
        }
    }
}
