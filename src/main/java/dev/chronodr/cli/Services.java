package dev.chronodr.cli;

import java.util.HashMap;
import java.util.Map;

import dev.chronodr.config.ConnectionRequest;
import dev.chronodr.config.Target;
import dev.chronodr.config.TargetResolver;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Progress;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.Repository;
import dev.chronodr.report.TerminalProgress;

/**
 * The one place that turns what the entry point handed a command ({@link Cli}) into what the
 * core services take: the resolved target, the process runner, the tool locator, the progress
 * reporter and the repository. Commands ask here instead of wiring them by hand.
 */
final class Services {
    private final Cli cli;
    private final boolean quiet;
    private ProcessRunner runner;

    Services(Cli cli, boolean quiet) {
        this.cli = cli;
        this.quiet = quiet;
    }

    /** Flag > environment > config file > default, decided by {@link TargetResolver}. */
    Target target(ConnectionOptions connection) {
        return target(connection.request());
    }

    Target target(ConnectionRequest request) {
        return new TargetResolver(cli.env()).resolve(request);
    }

    /**
     * A second target named in the config file, for the config alone: the shell's PG*
     * variables and CHRONO_DR_TARGET describe the first one, not this.
     */
    Target configTarget(String configFile, String name) {
        Map<String, String> vars = new HashMap<>(cli.env().vars());
        vars.keySet().removeIf(k -> k.startsWith("PG") && !k.equals("PGPASSFILE"));
        vars.remove("CHRONO_DR_TARGET");
        ConnectionRequest req = new ConnectionRequest(null, null, null, null, null, null, configFile, name,
                null, null, null, null, null, false);
        return new TargetResolver(new Environment(vars, cli.env().cwd())).resolve(req);
    }

    /** The target for its config alone (repository names, s3: settings): no password is read. */
    Target describe(String configFile, String name) {
        ConnectionRequest req = new ConnectionRequest(null, null, null, null, null, null, configFile, name,
                null, null, null, null, null, false);
        return new TargetResolver(cli.env()).describe(req);
    }

    /** A repository by its name in the target's repos:, else a directory or s3://BUCKET/PREFIX. */
    dev.chronodr.repo.RepoLocation repoLocation(Target target, String nameOrPlace) {
        return new TargetResolver(cli.env()).repoLocation(target.config(), nameOrPlace);
    }

    /** The target's named repositories (repos:), in the config's order. */
    java.util.Map<String, dev.chronodr.repo.RepoLocation> namedRepos(Target target) {
        return new TargetResolver(cli.env()).namedRepos(target.config());
    }

    /** One runner per command run, shared by the services and the tool locator it builds. */
    ProcessRunner runner() {
        if (runner == null) {
            runner = cli.processRunner();
        }
        return runner;
    }

    ToolLocator tools() {
        return new ToolLocator(runner(), cli.env().vars());
    }

    /** Progress on stderr when it is a terminal and -q was not given. */
    Progress progress() {
        return TerminalProgress.forTerminal(cli.terminal(), cli.err(), quiet);
    }

    Repository repository(Target target) {
        return Repository.open(target.repo());
    }

    String version() {
        return ChronoDr.version();
    }
}
