package dev.chronodr.recover;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.chronodr.config.RecoverSection;
import dev.chronodr.config.RecoverSection.SmokeTest;
import dev.chronodr.config.Target;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Progress;
import dev.chronodr.core.Status;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.recover.Diagnosis.Verdict;
import dev.chronodr.recover.Timeline.Outcome;
import dev.chronodr.report.TextOutput;
import dev.chronodr.restore.ApplicationServices;
import dev.chronodr.restore.RestoreRequest;
import dev.chronodr.restore.RestoreResult;
import dev.chronodr.restore.RestoreService;
import dev.chronodr.restore.RestoreSource;

/**
 * The runbook's scenarios 1 (server failure) and 3 (complete restoration) as one run, each
 * step timed:
 * <ol>
 *   <li>diagnose, read-only (and stop there with {@code --diagnose});</li>
 *   <li>a server that is down or not answering: stop the dependents, restart it, wait for it
 *       with a deadline;</li>
 *   <li>the integrity check (verify's quick checks, critical row counts, amcheck);</li>
 *   <li>corruption found: the newest good backup, a confirmation, an emergency copy of the data
 *       directory, {@code restore --latest} (the damaged database is kept), the check again;</li>
 *   <li>the dependents in order, monitor's checks, the smoke tests.</li>
 * </ol>
 * A step it cannot take safely stops the run and says what a person should do; nothing is deleted.
 */
public final class RecoverService {
    private static final int MAX_STARTS = 5;

    private final ProcessRunner runner;
    private final ToolLocator locator;
    private final Environment env;
    private final Progress progress;
    private final String version;
    private final StepListener listener;
    private final Confirmer confirmer;

    public RecoverService(ProcessRunner runner, ToolLocator locator, Environment env, Progress progress, String chronoDrVersion,
                          StepListener listener, Confirmer confirmer) {
        this.runner = runner;
        this.locator = locator;
        this.env = env;
        this.progress = progress;
        this.version = chronoDrVersion;
        this.listener = listener;
        this.confirmer = confirmer;
    }

    public RecoverResult recover(Target target, RecoverRequest req) {
        RecoverSection config = RecoverSection.of(target);
        List<SmokeTest> smoke = RecoverSection.smokeTests(target);
        RecoverResult result = new Run(target, req, config, smoke, host(target, config)).go();
        if (!result.changed().isEmpty()) {
            RecoveryRecord.of(result).save(dev.chronodr.repo.Repository.open(target.repo()));
        }
        return result;
    }

    private DatabaseHost host(Target target, RecoverSection config) {
        if (target.exec().mode() != ExecMode.LOCAL) {
            return new ContainerHost(target.exec(), target.connection(), runner, config.dataDirectory(true));
        }
        String dir = config.dataDirectory(false);
        if (dir == null) {
            dir = askedDataDirectory(target);
        }
        return new LocalHost(env.resolve(dir), config.systemdUnit, config.logFile == null ? null : env.resolve(config.logFile),
                target.connection(), runner, env);
    }

    /** A server that answers says where its data is; one that does not needs the config to. */
    private static String askedDataDirectory(Target target) {
        try (Connection c = Database.connect(target.connection()); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW data_directory")) {
            rs.next();
            return rs.getString(1);
        } catch (ChronoException | SQLException e) {
            throw ChronoException.usage("recover with --exec local needs the server's data directory, and the server cannot tell it ("
                    + e.getMessage() + ")", "set recover.data_directory for the target in the config file");
        }
    }

    /** One run's state: the timeline and what it changed, left alone and advises. */
    private final class Run {
        private final Target target;
        private final RecoverRequest req;
        private final RecoverSection config;
        private final List<SmokeTest> smoke;
        private final DatabaseHost host;
        private final Timeline timeline = new Timeline(listener);
        private final List<String> changed = new ArrayList<>();
        private final List<String> left = new ArrayList<>();
        private final List<String> next = new ArrayList<>();
        private final String db;
        private Diagnosis diagnosis;
        private boolean dependentsStopped;
        /** Why the server answering on the port is not the one restarted, when that was the last thing seen. */
        private String otherServer;
        private boolean startedByRestore;
        private String restoredFrom;

        Run(Target target, RecoverRequest req, RecoverSection config, List<SmokeTest> smoke, DatabaseHost host) {
            this.target = target;
            this.req = req;
            this.config = config;
            this.smoke = smoke;
            this.host = host;
            this.db = target.connection().dbname();
        }

        RecoverResult go() {
            timeline.run("diagnose", () -> {
                diagnosis = new Diagnoser(host, target).diagnose();
                return new Outcome(diagnosis.verdict() == Verdict.HEALTHY ? Status.OK : Status.CRITICAL,
                        diagnosis.verdict().label() + ": " + diagnosis.reason(), List.of());
            });
            if (req.diagnoseOnly()) {
                if (diagnosis.verdict() != Verdict.HEALTHY) {
                    next.add("chrono-dr recover --yes: " + plan(diagnosis));
                }
                return finish("diagnosed: " + diagnosis.verdict().label(), diagnosis.verdict() == Verdict.HEALTHY ? ExitCode.OK : ExitCode.CRITICAL, null);
            }
            if (diagnosis.verdict() != Verdict.HEALTHY) {
                if (diagnosis.verdict() == Verdict.CORRUPT && diagnosis.controlProblem() != null) {
                    // The runbook: with a damaged pg_control, do not start the server on those files again.
                    return cannotStart("diagnose", diagnosis.controlProblem());
                }
                stopDependents();
                Step restart = timeline.run("restart database", () -> {
                    host.stop();
                    changed.add("restarted the database (" + host.describe() + ")");
                    host.start();
                    return Outcome.ok("stopped, then started: " + host.startCommand());
                });
                if (restart.status() != Status.OK) {
                    return cannotStart("restart database", restart.summary());
                }
                Step ready = timeline.run("wait for readiness", this::waitReady);
                if (ready.status() != Status.OK) {
                    return cannotStart("wait for readiness", ready.summary());
                }
            }
            IntegrityCheck.Outcome[] integrity = new IntegrityCheck.Outcome[1];
            Step checked = timeline.run("integrity", () -> {
                integrity[0] = IntegrityCheck.run(target, runner, locator);
                return new Outcome(integrity[0].corrupt() ? Status.CRITICAL : integrity[0].status() == Status.OK ? Status.OK : Status.WARNING,
                        integrity[0].summary(), integrity[0].details());
            });
            if (integrity[0] == null) {
                left.add("database " + db + " as it was, not checked");
                next.add("chrono-dr verify: it says what could not be checked and why (" + checked.summary() + ")");
                return finish("not recovered: the integrity check could not run", ExitCode.CRITICAL, "integrity");
            }
            if (integrity[0].corrupt()) {
                RecoverResult stopped = restore();
                if (stopped != null) {
                    return stopped;
                }
            }
            return afterwards();
        }

        /** What recover --yes would do for this verdict, for --diagnose. */
        private String plan(Diagnosis d) {
            return switch (d.verdict()) {
                case HEALTHY -> "nothing";
                case CORRUPT -> d.controlProblem() != null
                        ? "an emergency copy of the data directory, then it stops: a server with a damaged pg_control is not started again"
                        : "restart, check integrity, and restore the newest good backup if the check finds corruption";
                default -> "stop the dependents, restart the database, wait for it, check integrity (restore the newest good backup if it is damaged), start the dependents";
            };
        }

        private void stopDependents() {
            if (dependentsStopped) {
                return;
            }
            ApplicationServices apps = ApplicationServices.of(target, runner);
            if (!apps.restartsApplications()) {
                timeline.skipped("stop dependents", "no services in the config (services.stop, or stop_command)");
                return;
            }
            timeline.run("stop dependents", () -> {
                apps.stop();
                dependentsStopped = true;
                changed.add("stopped the dependent services");
                return Outcome.ok(String.join("; ", apps.log()));
            });
        }

        private Outcome waitReady() {
            long deadline = System.nanoTime() + req.readyTimeout().toNanos();
            long lastLook = System.nanoTime();
            int starts = 1;
            List<String> details = new ArrayList<>();
            String last = null;
            while (System.nanoTime() < deadline) {
                try (Connection c = Database.connect(target.connection())) {
                    c.isValid(5);
                    // The port may have been taken while the server was down: the answer must come from the server restarted.
                    Optional<String> another = host.anotherServerAnswers(c);
                    if (another.isEmpty()) {
                        otherServer = null;
                        return Outcome.ok("accepting connections", details);
                    }
                    last = otherServer = another.get();
                } catch (ChronoException | SQLException e) {
                    last = e.getMessage();
                    otherServer = null;
                }
                if (System.nanoTime() - lastLook > Duration.ofSeconds(5).toNanos()) {
                    lastLook = System.nanoTime();
                    DatabaseHost.ServerState s = host.state();
                    // A killed server's children may still hold its shared memory for a moment: start again, a few times.
                    if (!s.running() && starts < MAX_STARTS) {
                        details.add("not running (" + s.detail() + "): started again");
                        try {
                            host.start();
                        } catch (ChronoException e) {
                            details.add("start failed: " + e.getMessage());
                        }
                        starts++;
                    }
                }
                sleep(Duration.ofSeconds(1));
            }
            if (otherServer != null) {
                return Outcome.failed(otherServer, details);
            }
            details.add("last connection error: " + last);
            return Outcome.failed("not accepting connections after " + req.readyTimeout().toSeconds() + " s", details);
        }

        /** The server cannot run on its files: an emergency copy if space allows, then stop and say what to do. */
        private RecoverResult cannotStart(String step, String why) {
            if (host.state().running()) {
                timeline.run("stop database", () -> {
                    host.stop();
                    changed.add("stopped the database that did not start properly");
                    return Outcome.ok("stopped, so that nothing writes to the damaged files");
                });
            }
            Step copy = timeline.run("emergency copy", () -> EmergencyCopy.make(host, config.emergencyCopyDir(target), db, false, this::waitReady, changed));
            left.add("the data directory (" + host.describe() + "), untouched");
            if (dependentsStopped) {
                left.add("the dependent services, stopped");
            }
            if (copy.status() != Status.OK) {
                next.add("make a copy of the data directory by hand before anything else (the runbook's cp -r step)");
            }
            next.add("read the log lines above: " + why);
            if (otherServer != null) {
                next.add("stop the server that holds port " + target.connection().port() + " (or give this one another port), then run chrono-dr recover again");
                return finish("not recovered: another server holds the port", ExitCode.CRITICAL, step);
            }
            next.add("the server cannot start from its data directory. Start a new one on an empty data directory or volume, then: "
                    + "chrono-dr restore --latest --with-globals --yes");
            next.add("or, with base backups and archived WAL (chrono-dr list shows the window): chrono-dr restore --point-in-time latest "
                    + "--data-dir NEW_DIR -p PORT (docs/pitr.md)");
            return finish("not recovered: the server cannot start", ExitCode.CRITICAL, step);
        }

        /** Corruption found: returns a result when the run stops, null when the database was restored. */
        private RecoverResult restore() {
            // recover takes no key flags: an encrypted repository's key comes from the config's encryption section
            RestoreService service = new RestoreService(runner, locator, progress, version,
                    dev.chronodr.config.EncryptionSection.resolve(dev.chronodr.config.EncryptionSection.Flags.none(), target, env).secretKeys());
            RestoreRequest request = new RestoreRequest(null, null, null, 1, true, false, false, true, false);
            RestoreSource[] source = new RestoreSource[1];
            Step found = timeline.run("newest good backup", () -> {
                try {
                    source[0] = service.resolve(target, request);
                } catch (ChronoException e) {
                    return Outcome.failed("no good backup of " + db + ": " + e.getMessage(), List.of());
                }
                List<String> details = source[0].passedOver().stream().map(p -> "passed over damaged newer backup " + p).toList();
                return Outcome.ok(source[0].id() + " (" + source[0].location() + ")", details);
            });
            if (found.status() != Status.OK) {
                leaveDamaged();
                next.add("find a backup that is good: chrono-dr list; chrono-dr verify --all-backups (repository " + target.repo() + ")");
                next.add("with one in hand: chrono-dr restore --backup-file FILE (it keeps the damaged database under another name)");
                next.add("if verify names only indexes: chrono-dr vacuum --reindex --tables TABLE rebuilds them without a restore");
                return finish("not recovered: no good backup to restore", ExitCode.CRITICAL, "newest good backup");
            }
            try {
                timeline.run("confirmation", () -> {
                    confirmer.confirm("replace database " + db + " with backup " + source[0].id() + ", after an emergency copy of the data"
                            + " directory (the damaged database is kept under another name)");
                    return Outcome.ok("confirmed");
                });
            } catch (ChronoException e) {
                if (e.exitCode() != ExitCode.USAGE) {
                    throw e;
                }
                leaveDamaged();
                next.add("run again with --yes (or type YES on a terminal) to restore " + source[0].id());
                return finish("not confirmed: nothing was restored", ExitCode.USAGE, "confirmation");
            }
            stopDependents();
            Step copy = timeline.run("emergency copy", () -> EmergencyCopy.make(host, config.emergencyCopyDir(target), db, true, this::waitReady, changed));
            if (copy.status() != Status.OK) {
                leaveDamaged();
                next.add("make room for the copy, or copy the data directory by hand, then run recover again");
                return finish("not recovered: no emergency copy, so no restore", ExitCode.CRITICAL, "emergency copy");
            }
            Step restored = timeline.run("restore", () -> {
                RestoreResult r = service.execute(target, service.plan(target, request, source[0]));
                List<String> details = new ArrayList<>(r.notes());
                r.nextSteps().forEach(n -> details.add("next: " + n));
                if (!r.succeeded()) {
                    return Outcome.failed("restore of " + source[0].id() + " failed: " + r.failure(), details);
                }
                restoredFrom = source[0].id();
                // A replace restore stops and starts the configured services itself, in order, with their
                // health waits: when all came back healthy, starting them again would only wait again.
                startedByRestore = ApplicationServices.of(target, runner).restartsApplications()
                        && details.stream().noneMatch(d -> d.contains("NOT healthy"));
                changed.add("replaced database " + db + " with backup " + source[0].id() + "; the damaged one is kept as " + r.previousDatabase());
                r.rollback().forEach(s -> details.add("rollback: " + s));
                return Outcome.ok(source[0].id() + " restored and verified (row counts, foreign keys) in "
                        + TextOutput.duration(Duration.ofMillis(r.totalMillis())), details);
            });
            if (restored.status() != Status.OK) {
                leaveDamaged();
                return finish("not recovered: the restore failed", ExitCode.CRITICAL, "restore");
            }
            Step again = timeline.run("verify restored", () -> {
                IntegrityCheck.Outcome o = IntegrityCheck.run(target, runner, locator);
                return new Outcome(o.corrupt() ? Status.CRITICAL : Status.OK, o.summary(), o.details());
            });
            if (again.status() != Status.OK) {
                next.add("the restored database fails the integrity check too: chrono-dr verify, and escalate");
                return finish("not recovered: the restored database fails the integrity check", ExitCode.CRITICAL, "verify restored");
            }
            return null;
        }

        private void leaveDamaged() {
            left.add("database " + db + " as it was (damaged)");
            if (dependentsStopped) {
                left.add("the dependent services, stopped: start them only once the database is sound");
            }
        }

        /** The database is sound: the dependents, monitor's checks, the smoke tests. */
        private RecoverResult afterwards() {
            String failed = null;
            if (startedByRestore) {
                timeline.skipped("start dependents", "started again by the restore, in order, each healthy");
            } else if (dependentsStopped || restoredFrom != null) {
                ApplicationServices apps = ApplicationServices.of(target, runner);
                Step s = timeline.run("start dependents", () -> {
                    apps.start();
                    List<String> log = apps.log();
                    boolean unhealthy = log.stream().anyMatch(l -> l.contains("NOT healthy"));
                    return new Outcome(unhealthy ? Status.CRITICAL : Status.OK, log.isEmpty() ? "nothing configured to start" : String.join("; ", log), List.of());
                });
                if (s.status() == Status.CRITICAL) {
                    failed = s.name();
                    next.add("check the dependents: docker compose ps; docker compose logs SERVICE");
                }
            }
            Step health = timeline.run("health report", () -> HealthReport.run(target, env));
            if (health.status() == Status.CRITICAL && failed == null) {
                failed = health.name();
                next.add("chrono-dr monitor: the lines at the top say what is wrong");
            }
            if (smoke.isEmpty()) {
                timeline.skipped("smoke tests", "no smoke_tests in the config");
            } else {
                Step s = timeline.run("smoke tests", () -> {
                    List<SmokeTests.Result> results = SmokeTests.run(smoke, target, runner);
                    long passed = results.stream().filter(SmokeTests.Result::passed).count();
                    List<String> details = results.stream().map(r -> (r.passed() ? "PASS " : "FAIL ") + r.name() + ": " + r.detail()).toList();
                    return new Outcome(passed == results.size() ? Status.OK : Status.CRITICAL, passed + "/" + results.size() + " passed", details);
                });
                if (s.status() == Status.CRITICAL && failed == null) {
                    failed = s.name();
                    next.add("a smoke test failed: the application may not work although the database does");
                }
            }
            String outcome = restoredFrom != null ? "restored from backup " + restoredFrom
                    : changed.isEmpty() ? "healthy: nothing to recover" : "recovered";
            if (failed != null) {
                left.add("the database, recovered and sound; the step that failed was not undone");
                return finish(outcome + ", but step '" + failed + "' failed", ExitCode.FAILED, failed);
            }
            if (restoredFrom != null) {
                next.add("when the application is confirmed good, drop the kept damaged database and the emergency copy");
            }
            return finish(outcome, ExitCode.OK, null);
        }

        private RecoverResult finish(String outcome, ExitCode exit, String failedStep) {
            return new RecoverResult(target.name(), outcome, diagnosis, timeline.startedAt(), timeline.steps(), timeline.elapsedMillis(),
                    req.rto().toMillis(), failedStep, changed, left, next, exit);
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ChronoException.failed("interrupted", null);
        }
    }
}
