package dev.chronodr.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import dev.chronodr.config.ChronoConfig;
import dev.chronodr.config.ScheduleSection;
import dev.chronodr.config.Target;
import dev.chronodr.config.TargetResolver;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.report.CommandResult;
import dev.chronodr.report.Format;
import dev.chronodr.report.Suggestions;
import dev.chronodr.schedule.GeneratedFile;
import dev.chronodr.schedule.Installer;
import dev.chronodr.schedule.ScheduleRequest;
import dev.chronodr.schedule.ScheduleRequest.Flavour;
import dev.chronodr.schedule.ScheduleResult;
import dev.chronodr.schedule.ScheduleService;

@Command(name = "schedule", sortOptions = false,
        description = {"Print (or install) what runs chrono-dr on time: crontab lines, systemd timers or Kubernetes CronJobs.",
                "Jobs and times come from the target's schedule: section; the defaults are the runbook's crontab:",
                "monitor every 5 minutes, backup then cleanup daily at 02:00, vacuum --analyze Sundays at 03:00, dr-test monthly.",
                "Exit 0 printed or installed, 1 the files could not be written, 64 bad input or no confirmation."})
public final class ScheduleCommand extends BaseCommand {
    /** Paths the jobs must find wherever they run: made absolute. */
    private static final Set<String> PATH_FLAGS = Set.of("--config", "--password-file", "--compose-file", "--repo");

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--as", paramLabel = "FLAVOUR",
            description = "With --format json: which schedule to describe (cron, systemd or kubernetes; default cron).")
    String as;

    @Option(names = "--install", description = "Write the files (cron: /etc/cron.d; systemd: /etc/systemd/system, or"
            + " ~/.config/systemd/user when not root) after showing them and a typed YES or --yes.")
    boolean install;

    @Option(names = "--dest", paramLabel = "DIR", description = "With --install: write into DIR instead.")
    Path dest;

    @Option(names = "--yes", description = "Confirm --install without being asked (needed without a terminal).")
    boolean yes;

    @Option(names = "--launcher", paramLabel = "PATH",
            description = "The chrono-dr the jobs run (default: the launcher running now, else chrono-dr on PATH).")
    Path launcher;

    private Flavour flavour;

    @Override
    protected Set<Format> formats() {
        return Set.of(Format.TEXT, Format.JSON);
    }

    @Override
    Format format() {
        Flavour f = Flavour.parse(output.format);
        if (f != null) {
            flavour = f;
            return Format.TEXT;
        }
        Format fmt = super.format();
        flavour = as == null ? Flavour.CRON : Flavour.parse(as);
        if (flavour == null) {
            throw ChronoException.usage("unknown --as '" + as + "'", "use one of: cron, systemd, kubernetes");
        }
        return fmt;
    }

    @Override
    protected CommandResult execute() {
        format();
        Environment env = cli().env();
        if (connection.request().sandbox()) {
            throw ChronoException.usage("the sandbox is a throwaway cluster; there is nothing to schedule for it",
                    "schedule a target of the config file (--config FILE --target NAME)");
        }
        if (flavour == Flavour.KUBERNETES && install) {
            throw ChronoException.usage("--install writes cron and systemd files on this host; Kubernetes takes its"
                    + " objects through its API", "save the output and apply it: chrono-dr schedule --format kubernetes > cronjobs.yaml"
                    + " && kubectl apply -f cronjobs.yaml");
        }
        Target target = new TargetResolver(env).describe(connection.request());
        ScheduleSection section = ScheduleSection.of(target);
        Path workingDir = section.workingDir != null ? env.resolve(section.workingDir) : env.cwd();
        List<String> carried = carried(env);
        Path configFile = null;
        if (!carried.contains("--config")) {
            ChronoConfig config = new TargetResolver(env).config(connection.request());
            if (config != null && config.source() != null) {
                configFile = config.source().toAbsolutePath();
                carried.add(0, configFile.toString());
                carried.add(0, "--config");
            }
        }
        if (!carried.contains("--target") && target.config() != null) {
            carried.add("--target");
            carried.add(target.name());
        }
        Path localRepo = target.repo().isS3() ? null : target.repo().localOrNull().toAbsolutePath();
        String runAs = section.user != null ? section.user : env.osUser();
        ScheduleRequest req = new ScheduleRequest(flavour, target.name(), launcher(env), workingDir, carried, configFile,
                localRepo, runAs,
                target.exec().mode() != dev.chronodr.pg.ExecMode.LOCAL, section);
        List<String> notes = new ArrayList<>();
        if (flavour != Flavour.KUBERNETES && "root".equals(runAs)) {
            notes.add("the jobs run as root; set schedule.user to a dedicated user that may read the config and write the repository");
        }
        if (!install) {
            return ScheduleResult.of(req, ScheduleService.files(req, false), null, notes, List.of());
        }
        boolean root = "root".equals(env.osUser());
        Path dir = dest != null ? env.resolve(dest.toString())
                : flavour == Flavour.CRON ? (root ? Path.of("/etc/cron.d") : null)
                : root ? Path.of("/etc/systemd/system") : env.home().resolve(".config/systemd/user");
        if (dir == null) {
            throw ChronoException.usage("installing a cron schedule needs root (/etc/cron.d)",
                    "as this user, run 'crontab -e' and paste what 'chrono-dr schedule --format cron' prints, or pass --dest DIR");
        }
        if (dest == null && flavour == Flavour.SYSTEMD && !root) {
            try {
                Files.createDirectories(dir);
            } catch (java.io.IOException e) {
                throw ChronoException.failed("cannot create " + dir + ": " + e.getMessage(), null);
            }
        }
        List<GeneratedFile> files = ScheduleService.files(req, true);
        // Shown first, then confirmed: an install changes what runs on this machine every day.
        if (!yes) {
            renderer(Format.TEXT).render(ScheduleResult.of(req, files, null, List.of(), List.of()), cli().err());
            cli().err().flush();
        }
        Confirmation.require(cli(), yes, "install these " + files.size() + " file(s) into " + dir);
        Installer.Outcome outcome = Installer.install(dir, ScheduleService.prefix(req), files);
        List<String> next = new ArrayList<>();
        if (flavour == Flavour.SYSTEMD) {
            String ctl = root && dest == null ? "systemctl" : "systemctl --user";
            List<String> timers = files.stream().filter(GeneratedFile::enable).map(GeneratedFile::name).toList();
            next.add(ctl + " daemon-reload && " + ctl + " enable --now " + String.join(" ", timers));
            next.add(ctl + " list-timers 'chrono-dr-*'");
        } else {
            next.add("cron reads " + dir + " by itself; the jobs' output goes to " + logDir(section) + "/JOB.log");
        }
        return ScheduleResult.of(req, files, outcome, notes, next);
    }

    private static String logDir(ScheduleSection s) {
        return s.logDir != null ? s.logDir : ScheduleSection.LOG_DIR;
    }

    /** The user's target-choosing flags, paths made absolute: the jobs run from another directory and user. */
    private List<String> carried(Environment env) {
        List<String> out = new ArrayList<>();
        for (Suggestions.Flag f : SuggestionContext.carried(spec)) {
            out.add(f.name());
            if (f.value() != null) {
                boolean path = PATH_FLAGS.contains(f.name()) && !f.value().startsWith("s3://");
                out.add(path ? env.resolve(f.value()).toAbsolutePath().toString() : f.value());
            }
        }
        return out;
    }

    private Path launcher(Environment env) {
        if (launcher != null) {
            return env.resolve(launcher.toString()).toAbsolutePath();
        }
        String running = env.get("CHRONO_DR_LAUNCHER");
        if (running != null && !running.isBlank()) {
            return env.resolve(running).toAbsolutePath();
        }
        String path = env.get("PATH");
        if (path != null) {
            for (String dir : path.split(":")) {
                Path p = Path.of(dir.isEmpty() ? "." : dir).resolve("chrono-dr");
                if (Files.isExecutable(p)) {
                    return p.toAbsolutePath();
                }
            }
        }
        throw ChronoException.usage("cannot tell where chrono-dr is installed, so the jobs would not find it",
                "install it (scripts/install.sh) or pass --launcher PATH");
    }
}
