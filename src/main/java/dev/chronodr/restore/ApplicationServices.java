package dev.chronodr.restore;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.chronodr.config.ChronoConfig;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.ComposeFrontEnd;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/**
 * The applications that use the database, stopped before a restore replaces it and
 * started again after, in the configured order with delays and health waits (the
 * runbook: backend, then celery_worker after 10 s, then frontend after 5 s). In
 * {@code --exec compose} mode through docker compose; otherwise through the configured
 * commands, or not at all, and the result says which.
 */
public final class ApplicationServices {
    /** The target's {@code services:} section. */
    public static final class Config {
        public List<String> stop = List.of();
        public List<Start> start = List.of();
        public List<String> stop_command;
        public List<String> start_command;
    }

    /** One service to start: after {@code delay_seconds}, optionally waiting until docker reports it healthy. */
    public static final class Start {
        public String name;
        public int delay_seconds;
        public boolean wait_healthy;
        public int health_timeout_seconds = 120;
    }

    private final Config config;
    private final ExecSettings exec;
    private final ProcessRunner runner;
    private final List<String> log = new ArrayList<>();
    private ComposeFrontEnd frontEnd;

    ApplicationServices(Config config, ExecSettings exec, ProcessRunner runner) {
        this.config = config;
        this.exec = exec;
        this.runner = runner;
    }

    public static ApplicationServices of(Target target, ProcessRunner runner) {
        Config c = ChronoConfig.section(target.config(), "services", Config.class).orElse(new Config());
        return new ApplicationServices(c, target.exec(), runner);
    }

    /** What was done, for the result's notes. */
    public List<String> log() {
        return List.copyOf(log);
    }

    boolean compose() {
        return exec.mode() == ExecMode.COMPOSE;
    }

    /** docker compose [-f FILE] WORDS... (or docker-compose, whichever this machine has). */
    List<String> composeArgv(String... words) {
        if (frontEnd == null) {
            frontEnd = ComposeFrontEnd.detect(exec.dockerBinary(), runner);
        }
        return frontEnd.argv(exec, List.of(words));
    }

    public void stop() {
        if (compose() && !config.stop.isEmpty()) {
            List<String> argv = composeArgv("stop");
            argv.addAll(config.stop);
            run(argv, "stop services");
            log.add("stopped " + String.join(", ", config.stop) + " (" + frontEnd.command() + " stop)");
        } else if (config.stop_command != null && !config.stop_command.isEmpty()) {
            run(config.stop_command, "the configured stop_command");
            log.add("ran stop_command: " + String.join(" ", config.stop_command));
        } else {
            log.add("no services configured to stop (services.stop in compose mode, or services.stop_command): "
                    + "applications kept their sessions until the restore ended them (the swap, or the DROP in place)");
        }
    }

    /** Whether {@link #start} brings the applications back itself (compose start list, start_command, or the stopped ones). */
    public boolean restartsApplications() {
        return (compose() && (!config.start.isEmpty() || !config.stop.isEmpty()))
                || (config.start_command != null && !config.start_command.isEmpty());
    }

    /**
     * The next step about the applications after a restore that ended their sessions: restart
     * them, unless chrono-dr did (then check they reconnected).
     */
    public String nextStep(String database, String why) {
        return restartsApplications()
                ? "check that the applications that use " + database + " reconnected (chrono-dr restarted them: see the notes)"
                : "restart the applications that use " + database + why;
    }

    public void start() {
        if (compose() && !config.start.isEmpty()) {
            for (Start s : config.start) {
                if (s.delay_seconds > 0) {
                    sleep(Duration.ofSeconds(s.delay_seconds));
                }
                run(composeArgv("up", "-d", s.name), "start " + s.name);
                String health = s.wait_healthy ? waitHealthy(s) : "";
                log.add("started " + s.name + (s.delay_seconds > 0 ? " after " + s.delay_seconds + " s" : "") + health);
            }
        } else if (config.start_command != null && !config.start_command.isEmpty()) {
            run(config.start_command, "the configured start_command");
            log.add("ran start_command: " + String.join(" ", config.start_command));
        } else if (compose() && !config.stop.isEmpty()) {
            List<String> argv = composeArgv("start");
            argv.addAll(config.stop);
            run(argv, "start services");
            log.add("started " + String.join(", ", config.stop) + " again (" + frontEnd.command() + " start)");
        }
    }

    private String waitHealthy(Start s) {
        long deadline = System.nanoTime() + Duration.ofSeconds(s.health_timeout_seconds).toNanos();
        while (System.nanoTime() < deadline) {
            String state = health(s.name);
            if (state.equals("healthy") || state.equals("none")) {
                return state.equals("none") ? " (no health check defined)" : ", healthy";
            }
            sleep(Duration.ofSeconds(2));
        }
        return ", NOT healthy after " + s.health_timeout_seconds + " s (check: docker compose logs " + s.name + ")";
    }

    /**
     * healthy, starting, unhealthy, none (no health check), or empty while unknown. Through
     * {@code ps -q} and {@code docker inspect}: v1's {@code ps} has no {@code --format}.
     */
    private String health(String service) {
        ProcessResult ps = runner.execute(ProcessSpec.of(composeArgv("ps", "-q", service)).withTimeout(Duration.ofSeconds(30)));
        String id = ps.stdout().strip();
        if (!ps.succeeded() || id.isEmpty() || id.contains("\n")) {
            return "";
        }
        ProcessResult inspect = runner.execute(ProcessSpec.of(exec.dockerBinary(), "inspect", "--format",
                "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", id).withTimeout(Duration.ofSeconds(30)));
        return inspect.succeeded() ? inspect.stdout().strip().toLowerCase(Locale.ROOT) : "";
    }

    private void run(List<String> argv, String what) {
        try {
            runner.run(ProcessSpec.of(argv).withTimeout(Duration.ofMinutes(5)));
        } catch (ProcessFailedException e) {
            throw ChronoException.failed("could not " + what + ": " + e.getMessage(), "check the services section of the config");
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
