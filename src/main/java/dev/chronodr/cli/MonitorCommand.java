package dev.chronodr.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.monitor.HealthCheck;
import dev.chronodr.monitor.ListenSettings;
import dev.chronodr.monitor.MonitorListener;
import dev.chronodr.monitor.MonitorChecks;
import dev.chronodr.monitor.MonitorOptions;
import dev.chronodr.monitor.MonitorPage;
import dev.chronodr.monitor.MonitorReport;
import dev.chronodr.monitor.MonitorRequest;
import dev.chronodr.monitor.MonitorService;
import dev.chronodr.monitor.MonitorWatch;
import dev.chronodr.monitor.Threshold;
import dev.chronodr.monitor.Thresholds;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.Format;
import dev.chronodr.report.Renderer;
import dev.chronodr.report.ReportFile;
import dev.chronodr.report.TextView;

@Command(name = "monitor", sortOptions = false,
        description = {"Check the database's health in one pass: for people, cron, Nagios and Prometheus.",
                "Overall status is the worst check's. Exit 0 ok, 1 warning, 2 critical (database down included), 3 unknown, 64 usage.",
                "Checks and their default levels: docs/monitor.md."})
public final class MonitorCommand extends BaseCommand {
    private static final String CLEAR_SCREEN = "\u001b[H\u001b[2J";

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--check", paramLabel = "NAME", arity = "1..*", split = ",", completionCandidates = CheckNames.class,
            description = {"Run only these checks (repeat or separate with commas). Default: all, or the config's monitor.checks.",
                    "Checks: ${COMPLETION-CANDIDATES}."})
    List<String> checks = new ArrayList<>();

    @Option(names = "--health", description = "Run every check (the runbook's 'monitor --health').")
    boolean health;

    @Option(names = "--warning", paramLabel = "NAME=VALUE", completionCandidates = ThresholdNames.class,
            description = {"Warning level of a threshold, e.g. connections=70%%, long_query=2m, disk=80; 'off' disables.",
                    "Also monitor.warning in the target's config. Names: ${COMPLETION-CANDIDATES}."})
    Map<String, String> warning;

    @Option(names = "--critical", paramLabel = "NAME=VALUE", completionCandidates = ThresholdNames.class,
            description = "Critical level of a threshold, e.g. connections=90%%, lock_wait=1m. Also monitor.critical in the config.")
    Map<String, String> critical;

    @Option(names = "--export", paramLabel = "FILE", description = "Also write the JSON report to FILE, atomically (temp file, fsync, rename).")
    String export;

    @Option(names = "--html", paramLabel = "FILE", description = "Also write the report as one self-contained HTML page to FILE (0600).")
    String html;

    @Option(names = "--watch", paramLabel = "SECONDS", description = "Refresh the text report in place every SECONDS until Ctrl-C (terminal only).")
    Integer watch;

    @Option(names = "--alert-webhook", paramLabel = "URL",
            description = "POST a Slack-compatible {\"text\": ...} message here on WARNING or CRITICAL (else CHRONO_DR_ALERT_WEBHOOK, config monitor.alert.webhook).")
    String alertWebhook;

    @Option(names = "--alert-once-per", paramLabel = "DURATION", description = "Send the same alert at most once per DURATION (e.g. 1h), remembered in a state file.")
    String alertOncePer;

    @Option(names = "--alert-state-file", paramLabel = "FILE",
            description = "Where --alert-once-per remembers the last alert (default: beside --export, else in the repository).")
    String alertStateFile;

    @Option(names = "--listen", paramLabel = "[HOST:]PORT",
            description = {"Stay resident and serve /metrics (Prometheus) and /health (JSON; HTTP 503 when CRITICAL) until SIGTERM or Ctrl-C (exit 0).",
                    "PORT or :PORT listens on 127.0.0.1 only; name a host to listen elsewhere, e.g. 0.0.0.0:9187. See docs/monitor.md."})
    String listen;

    @Override
    protected Set<Format> formats() {
        return EnumSet.of(Format.TEXT, Format.JSON, Format.NAGIOS, Format.PROMETHEUS);
    }

    @Override
    protected CommandResult execute() {
        if (watch != null) {
            if (watch < 1) {
                throw ChronoException.usage("--watch " + watch + " is too short", "refresh every 1 second or more");
            }
            if (!cli().terminal().stdout()) {
                throw ChronoException.usage("--watch needs a terminal on stdout",
                        "run it in a terminal; for cron or scripts leave --watch out (and use --export or --format)");
            }
            if (format() != Format.TEXT) {
                throw ChronoException.usage("--watch shows the text report only", "leave out --format, or drop --watch");
            }
        }
        Target target = services().target(connection);
        MonitorRequest request = MonitorRequest.resolve(new MonitorOptions(checks, health, warning, critical, export,
                alertWebhook, alertOncePer, alertStateFile), target, cli().env());
        if (listen != null) {
            return listen(request, target);
        }
        MonitorService service = new MonitorService();
        if (watch != null) {
            if (html != null) {
                throw ChronoException.usage("--html writes one report; --watch redraws the terminal", "drop one of them");
            }
            return watch(service, request);
        }
        MonitorReport report = service.run(request);
        if (html != null) {
            ReportFile.write(cli().env().resolve(html), w -> w.print(MonitorPage.html(report)));
        }
        return report;
    }

    /** Serves scrapes until SIGTERM or SIGINT; the core is {@link MonitorListener}. */
    private CommandResult listen(MonitorRequest request, Target target) {
        if (watch != null || export != null || html != null || alertWebhook != null || alertOncePer != null || alertStateFile != null
                || format() == Format.NAGIOS || format() == Format.PROMETHEUS) {
            throw ChronoException.usage("--listen cannot be combined with --watch, --export, --html, --alert-* or --format nagios/prometheus",
                    "/metrics and /health serve both formats; run one-shot monitors (with alerts) from cron beside it");
        }
        MonitorListener listener = MonitorListener.start(request, ListenSettings.resolve(listen, target));
        String at = "http://" + listener.stopped().listened();
        cli().err().println("chrono-dr monitor: serving " + at + "/metrics and " + at + "/health; SIGTERM or Ctrl-C stops");
        cli().err().flush();
        try (WalReceiveCommand.StopOnSignal signals = WalReceiveCommand.StopOnSignal.install(listener::stop)) {
            listener.awaitStop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            listener.stop();
        }
        return listener.stopped();
    }

    /** Redraws the report every --watch seconds; ends when interrupted (Ctrl-C ends the process itself). */
    private CommandResult watch(MonitorService service, MonitorRequest request) {
        Renderer renderer = renderer(Format.TEXT);
        MonitorWatch.Ended ended = new MonitorWatch(service, request, Duration.ofSeconds(watch)).run(report -> {
            cli().out().print(CLEAR_SCREEN);
            renderer.render(report, cli().out());
            cli().out().println("refreshing every " + watch + " s; Ctrl-C to stop");
            cli().out().flush();
        });
        return new WatchEnded(ended.rounds(), ended.last());
    }

    /** What is left to print when a watch ends: a line, and the last pass's exit code. */
    record WatchEnded(int passes, MonitorReport last) implements CommandResult {
        @Override
        public ExitCode exitCode() {
            return last == null ? ExitCode.OK : last.exitCode();
        }

        @Override
        public TextView text() {
            TextView.Builder out = TextView.builder();
            out.line("watch stopped after " + passes + " refreshes; last status " + (last == null ? "none" : last.status()));
            return out.build();
        }
    }

    /** The threshold names, for --help and shell completion. */
    static final class ThresholdNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Thresholds.defaults().all().stream().map(Threshold::name).iterator();
        }
    }

    /** The check names, for --help and shell completion. */
    static final class CheckNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return MonitorChecks.all().stream().map(HealthCheck::name).iterator();
        }
    }
}
