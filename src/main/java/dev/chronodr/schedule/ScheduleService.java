package dev.chronodr.schedule;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.chronodr.config.ScheduleSection;
import dev.chronodr.core.ChronoException;
import dev.chronodr.report.Suggestions;

/**
 * Turns a target's {@code schedule:} section into what runs chrono-dr on time: crontab
 * lines, systemd service and timer pairs, or Kubernetes CronJobs. It writes nothing;
 * {@link Installer} does, after the user has seen the files.
 */
public final class ScheduleService {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS));
    /** Where the CronJobs mount the ConfigMap: the config file's name under it. */
    static final String K8S_CONFIG_DIR = "/etc/chrono-dr";

    private ScheduleService() {
    }

    /** The jobs the section asks for, in the runbook's order; "off" leaves one out. */
    public static List<Job> jobs(ScheduleRequest req) {
        ScheduleSection s = req.section();
        String logDir = logDir(req);
        List<Job> jobs = new ArrayList<>();
        add(jobs, "monitor", "health check", or(s.monitor, ScheduleSection.MONITOR), 240,
                List.of(step(req, "monitor", List.of("-q"))));
        add(jobs, "backup", "backup, then cleanup by the retention policy", or(s.backup, ScheduleSection.BACKUP), 3600,
                List.of(step(req, "backup", List.of("-q")), step(req, "cleanup", List.of("-q"))));
        add(jobs, "vacuum", "VACUUM (ANALYZE) where it is needed", or(s.vacuum, ScheduleSection.VACUUM), 3600,
                List.of(step(req, "vacuum", List.of("--analyze", "-q"))));
        List<String> drill = req.flavour() == ScheduleRequest.Flavour.KUBERNETES ? List.of("-q")
                : List.of("-q", "--report", logDir + "/dr-test.json");
        add(jobs, "dr-test", "disaster-recovery drill", or(s.drTest, ScheduleSection.DR_TEST), 3600,
                List.of(step(req, "dr-test", drill)));
        if (jobs.isEmpty()) {
            throw ChronoException.usage("every job of schedule: is 'off'; there is nothing to schedule",
                    "set at least one of schedule.monitor, backup, vacuum, dr_test to a crontab time");
        }
        return jobs;
    }

    /**
     * The files of the requested flavour. Cron's is a user's crontab to print, or with
     * {@code install} the /etc/cron.d file (its lines name the user; its name has no dot,
     * which cron.d would skip).
     */
    public static List<GeneratedFile> files(ScheduleRequest req, boolean install) {
        List<Job> jobs = jobs(req);
        return switch (req.flavour()) {
            case CRON -> List.of(new GeneratedFile(prefix(req), cron(req, jobs, install), false));
            case SYSTEMD -> systemd(req, jobs);
            case KUBERNETES -> List.of(new GeneratedFile(unitBase(req.target()) + ".yaml", kubernetes(req, jobs), false));
        };
    }

    /**
     * A crontab: for {@code crontab -e} (a user's), or with {@code systemFile} the
     * /etc/cron.d form, whose lines name the user to run as.
     */
    public static String cron(ScheduleRequest req, List<Job> jobs, boolean systemFile) {
        StringBuilder b = new StringBuilder();
        b.append("# ").append(GeneratedFile.MARK).append(" --format cron, target ").append(req.target()).append(".\n");
        b.append("# Each job runs in ").append(req.workingDir()).append(" and appends its output to ").append(logDir(req))
                .append("/JOB.log");
        b.append(req.section().mailto == null ? ".\n" : "; errors also go by mail to MAILTO.\n");
        b.append("SHELL=/bin/sh\n");
        // cron's environment has no locale: Java would then fail on every non-ASCII path
        b.append("LANG=C.UTF-8\n");
        b.append("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
        if (req.section().mailto != null) {
            b.append("MAILTO=").append(req.section().mailto.strip()).append('\n');
        }
        List<String> resident = residents(req.section());
        if (!resident.isEmpty()) {
            b.append("# Not here: ").append(String.join(" and ", resident))
                    .append(" must run all the time, which cron cannot keep up; use --format systemd for them.\n");
        }
        for (Job j : jobs) {
            b.append("# ").append(j.name()).append(": ").append(j.description()).append('\n');
            b.append(j.when().cron()).append(systemFile ? " " + runAs(req) : "").append(' ')
                    .append(cronCommand(req, j)).append('\n');
        }
        return b.toString();
    }

    private static String cronCommand(ScheduleRequest req, Job j) {
        List<String> parts = new ArrayList<>();
        String log = Suggestions.quote(logDir(req) + "/" + j.name() + ".log");
        // With MAILTO, stderr (where chrono-dr's one-line errors go) is left to cron, which mails it.
        String redirect = req.section().mailto == null ? " >>" + log + " 2>&1" : " >>" + log;
        for (List<String> step : j.steps()) {
            StringBuilder c = new StringBuilder(Suggestions.quote(req.launcher().toString()));
            for (String a : step) {
                c.append(' ').append(Suggestions.quote(a));
            }
            parts.add(c + redirect);
        }
        String line = "cd " + Suggestions.quote(req.workingDir().toString()) + " && mkdir -p " + Suggestions.quote(logDir(req))
                + " && " + String.join(" && ", parts);
        // crontab(5): an unescaped % ends the command and starts its standard input.
        return line.replace("%", "\\%");
    }

    private static List<GeneratedFile> systemd(ScheduleRequest req, List<Job> jobs) {
        String exe = req.launcher().toString();
        if (exe.matches(".*['\"\\\\\\p{Cntrl}].*")) {
            throw ChronoException.usage("systemd will not run a program whose path holds a quote or backslash: " + exe,
                    "install chrono-dr under a plain path (scripts/install.sh --prefix DIR) and pass --launcher DIR/bin/chrono-dr");
        }
        List<GeneratedFile> files = new ArrayList<>();
        for (Job j : jobs) {
            String unit = unitBase(req.target()) + "-" + j.name();
            StringBuilder s = new StringBuilder();
            s.append("# ").append(GeneratedFile.MARK).append(" --format systemd, target ").append(req.target()).append(".\n");
            s.append("[Unit]\n");
            s.append("Description=chrono-dr ").append(j.description()).append(" (target ").append(req.target()).append(")\n");
            s.append("Documentation=man:chrono-dr-").append(j.steps().get(0).get(0)).append("(1)\n");
            s.append("Wants=network-online.target\nAfter=network-online.target\n\n");
            s.append("[Service]\nType=oneshot\n");
            s.append("User=").append(runAs(req)).append('\n');
            s.append("Environment=LANG=C.UTF-8\n");
            s.append("WorkingDirectory=").append(specifiers(req.workingDir().toString())).append('\n');
            for (List<String> step : j.steps()) {
                List<String> argv = new ArrayList<>();
                argv.add(req.launcher().toString());
                argv.addAll(step);
                s.append("ExecStart=").append(execLine(argv)).append('\n');
            }
            s.append("# A job that hangs is stopped: the next run must not queue behind it.\n");
            s.append("TimeoutStartSec=").append(j.name().equals("monitor") ? "4min" : "6h").append('\n');
            s.append("Nice=").append(j.name().equals("monitor") ? 0 : 10).append('\n');
            s.append("NoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=read-only\nPrivateTmp=yes\nPrivateDevices=yes\n");
            s.append("ProtectKernelTunables=yes\nProtectKernelModules=yes\nProtectKernelLogs=yes\nProtectControlGroups=yes\n");
            s.append("RestrictSUIDSGID=yes\nRestrictRealtime=yes\nLockPersonality=yes\nUMask=0077\n");
            List<String> writable = new ArrayList<>();
            if (req.repo() != null) {
                writable.add(req.repo().toString());
            }
            writable.add(logDir(req));
            s.append("# The repository and the log directory are the only places it writes (create them first).\n");
            if (req.dockerSocket()) {
                s.append("# The tools run through docker: the socket must stay writable (and the user in the docker group).\n");
                writable.add("-/run/docker.sock");
            }
            s.append("ReadWritePaths=").append(String.join(" ", writable.stream().map(ScheduleService::pathWord).toList()))
                    .append('\n');
            files.add(new GeneratedFile(unit + ".service", s.toString(), false));

            StringBuilder t = new StringBuilder();
            t.append("# ").append(GeneratedFile.MARK).append(" --format systemd, target ").append(req.target()).append(".\n");
            t.append("[Unit]\nDescription=Run chrono-dr ").append(j.name()).append(" on schedule (").append(j.when().cron())
                    .append(")\n\n");
            t.append("[Timer]\nOnCalendar=").append(j.when().onCalendar()).append('\n');
            t.append("# A run missed while the machine was off happens at the next boot.\nPersistent=true\n");
            t.append("AccuracySec=").append(j.name().equals("monitor") ? "15s" : "1min").append('\n');
            t.append("\n[Install]\nWantedBy=timers.target\n");
            files.add(new GeneratedFile(unit + ".timer", t.toString(), true));
        }
        if (Boolean.TRUE.equals(req.section().walReceive)) {
            files.add(resident(req, "wal-receive", "WAL receiver: streams WAL into the repository", step(req, "wal-receive", List.of()), true));
        }
        String listen = req.section().monitorListen;
        if (listen != null && !listen.isBlank() && !"off".equalsIgnoreCase(listen.strip())) {
            files.add(resident(req, "monitor-listen", "health endpoint for Prometheus and probes",
                    step(req, "monitor", List.of("--listen", listen.strip())), false));
        }
        return files;
    }

    /** The resident processes that cron and CronJobs cannot keep running, named for a comment. */
    static List<String> residents(ScheduleSection s) {
        List<String> out = new ArrayList<>();
        if (Boolean.TRUE.equals(s.walReceive)) {
            out.add("wal-receive");
        }
        if (s.monitorListen != null && !s.monitorListen.isBlank() && !"off".equalsIgnoreCase(s.monitorListen.strip())) {
            out.add("monitor --listen");
        }
        return out;
    }

    /**
     * A service that runs until stopped and is restarted when it ends: SIGTERM is its clean
     * stop (exit 0). The receiver keeps its spool in the unit's state directory.
     */
    private static GeneratedFile resident(ScheduleRequest req, String name, String what, List<String> step, boolean writesRepo) {
        List<String> argv = new ArrayList<>();
        argv.add(req.launcher().toString());
        argv.addAll(step);
        StringBuilder s = new StringBuilder();
        s.append("# ").append(GeneratedFile.MARK).append(" --format systemd, target ").append(req.target()).append(".\n");
        s.append("[Unit]\n");
        s.append("Description=chrono-dr ").append(what).append(" (target ").append(req.target()).append(")\n");
        s.append("Documentation=man:chrono-dr-").append(step.get(0)).append("(1)\n");
        s.append("Wants=network-online.target\nAfter=network-online.target\n\n");
        s.append("[Service]\nType=simple\n");
        s.append("User=").append(runAs(req)).append('\n');
        s.append("Environment=LANG=C.UTF-8\n");
        if (writesRepo) {
            s.append("# The spool lives in the state directory (XDG_STATE_HOME is where wal-receive keeps it).\n");
            s.append("StateDirectory=chrono-dr\nEnvironment=XDG_STATE_HOME=%S\n");
        }
        s.append("WorkingDirectory=").append(specifiers(req.workingDir().toString())).append('\n');
        s.append("ExecStart=").append(execLine(argv)).append('\n');
        s.append("# SIGTERM is its clean stop (what it has is stored, exit 0); it is started again if it ends otherwise.\n");
        s.append("KillSignal=SIGTERM\nTimeoutStopSec=60s\nRestart=always\nRestartSec=10s\n");
        s.append("NoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=read-only\nPrivateTmp=yes\nPrivateDevices=yes\n");
        s.append("ProtectKernelTunables=yes\nProtectKernelModules=yes\nProtectKernelLogs=yes\nProtectControlGroups=yes\n");
        s.append("RestrictSUIDSGID=yes\nRestrictRealtime=yes\nLockPersonality=yes\nUMask=0077\n");
        if (writesRepo && req.repo() != null) {
            s.append("ReadWritePaths=").append(pathWord(req.repo().toString())).append('\n');
        }
        s.append("\n[Install]\nWantedBy=default.target\n");
        return new GeneratedFile(unitBase(req.target()) + "-" + name + ".service", s.toString(), true);
    }

    private static String kubernetes(ScheduleRequest req, List<Job> jobs) {
        ScheduleSection.Kubernetes k = req.section().kubernetes == null ? new ScheduleSection.Kubernetes() : req.section().kubernetes;
        String name = or(k.secret, ScheduleSection.Kubernetes.NAME);
        String configMap = or(k.configMap, ScheduleSection.Kubernetes.NAME);
        String claim = or(k.repoClaim, ScheduleSection.Kubernetes.NAME + "-repo");
        StringBuilder out = new StringBuilder("# " + GeneratedFile.MARK + " --format kubernetes, target " + req.target() + ".\n"
                + "# Needs: a ConfigMap '" + configMap + "' with the config file, a Secret '" + name + "' with the password (key '"
                + or(k.secretKey, "password") + "'), and a PersistentVolumeClaim '" + claim + "' for the repository.\n");
        for (Job j : jobs) {
            Map<String, Object> container = new LinkedHashMap<>();
            container.put("name", "chrono-dr");
            container.put("image", or(k.image, "chrono-dr:latest"));
            if (j.steps().size() == 1) {
                container.put("command", List.of("chrono-dr"));
                container.put("args", j.steps().get(0));
            } else {
                // A CronJob's containers run side by side; steps that must run in order go through sh.
                List<String> cmds = new ArrayList<>();
                for (List<String> step : j.steps()) {
                    StringBuilder c = new StringBuilder("chrono-dr");
                    step.forEach(a -> c.append(' ').append(Suggestions.quote(a)));
                    cmds.add(c.toString());
                }
                container.put("command", List.of("/bin/sh", "-c"));
                container.put("args", List.of(String.join(" && ", cmds)));
            }
            container.put("env", List.of(Map.of("name", "PGPASSWORD",
                    "valueFrom", Map.of("secretKeyRef", Map.of("name", name, "key", or(k.secretKey, "password"))))));
            List<Map<String, Object>> mounts = new ArrayList<>();
            mounts.add(Map.of("name", "config", "mountPath", K8S_CONFIG_DIR, "readOnly", true));
            List<Map<String, Object>> volumes = new ArrayList<>();
            volumes.add(Map.of("name", "config", "configMap", Map.of("name", configMap)));
            if (req.repo() != null) {
                mounts.add(Map.of("name", "repo", "mountPath", req.repo().toString()));
                volumes.add(Map.of("name", "repo", "persistentVolumeClaim", Map.of("claimName", claim)));
            }
            container.put("volumeMounts", mounts);
            container.put("securityContext", Map.of("allowPrivilegeEscalation", false, "readOnlyRootFilesystem", false));
            Map<String, Object> pod = new LinkedHashMap<>();
            pod.put("restartPolicy", "Never");
            pod.put("securityContext", Map.of("runAsNonRoot", true));
            pod.put("containers", List.of(container));
            pod.put("volumes", volumes);
            Map<String, Object> jobSpec = new LinkedHashMap<>();
            jobSpec.put("backoffLimit", 0);
            jobSpec.put("template", Map.of("spec", pod));
            Map<String, Object> spec = new LinkedHashMap<>();
            spec.put("schedule", j.when().cron());
            spec.put("concurrencyPolicy", "Forbid");
            spec.put("startingDeadlineSeconds", j.startingDeadlineSeconds());
            spec.put("successfulJobsHistoryLimit", 3);
            spec.put("failedJobsHistoryLimit", 3);
            spec.put("jobTemplate", Map.of("spec", jobSpec));
            Map<String, Object> metadata = new LinkedHashMap<>();
            metadata.put("name", dnsName(req.target(), j.name()));
            if (k.namespace != null) {
                metadata.put("namespace", k.namespace);
            }
            metadata.put("labels", Map.of("app.kubernetes.io/name", "chrono-dr", "app.kubernetes.io/component", j.name()));
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("apiVersion", "batch/v1");
            doc.put("kind", "CronJob");
            doc.put("metadata", metadata);
            doc.put("spec", spec);
            try {
                out.append("---\n").append(YAML.writeValueAsString(doc));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
        return out.toString();
    }

    /** The flags every step carries, after the subcommand; in Kubernetes the config is the mounted one. */
    private static List<String> step(ScheduleRequest req, String sub, List<String> own) {
        List<String> argv = new ArrayList<>();
        argv.add(sub);
        List<String> carried = req.carried();
        for (int i = 0; i < carried.size(); i++) {
            String flag = carried.get(i);
            if (req.flavour() == ScheduleRequest.Flavour.KUBERNETES && flag.equals("--config") && i + 1 < carried.size()) {
                argv.add(flag);
                argv.add(K8S_CONFIG_DIR + "/" + Path.of(carried.get(++i)).getFileName());
                continue;
            }
            argv.add(flag);
        }
        argv.addAll(own);
        return argv;
    }

    private static void add(List<Job> jobs, String name, String what, String when, int deadline, List<List<String>> steps) {
        if ("off".equalsIgnoreCase(when.strip())) {
            return;
        }
        jobs.add(new Job(name, what, CronExpression.parse(name.replace('-', '_'), when), steps, deadline));
    }

    static String logDir(ScheduleRequest req) {
        return or(req.section().logDir, ScheduleSection.LOG_DIR);
    }

    private static String runAs(ScheduleRequest req) {
        return req.runAs();
    }

    /** What every file of this target's schedule is named after (cron.d skips names with a dot). */
    public static String prefix(ScheduleRequest req) {
        String base = unitBase(req.target());
        return req.flavour() == ScheduleRequest.Flavour.CRON ? base.replace('.', '_') : base;
    }

    /** chrono-dr-TARGET, with anything a unit or file name should not hold made '_'. */
    static String unitBase(String target) {
        return "chrono-dr-" + target.replaceAll("[^A-Za-z0-9_.-]", "_");
    }

    /** A CronJob name: lowercase letters, digits and '-', at most 52 characters. */
    static String dnsName(String target, String job) {
        String t = target.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]+", "-").replaceAll("^-+|-+$", "");
        String name = ("chrono-dr-" + (t.isEmpty() ? "" : t + "-") + job);
        if (name.length() > 52) {
            name = name.substring(0, 52 - job.length() - 1).replaceAll("-+$", "") + "-" + job;
        }
        return name;
    }

    /** An ExecStart= command line: each word quoted when needed, systemd's % and $ escaped. */
    static String execLine(List<String> argv) {
        List<String> words = new ArrayList<>();
        for (String a : argv) {
            words.add(execWord(a));
        }
        return String.join(" ", words);
    }

    private static String execWord(String a) {
        String w = specifiers(a).replace("$", "$$");
        if (!w.isEmpty() && w.matches("[A-Za-z0-9_./:=@%+,$-]+")) {
            return w;
        }
        return "\"" + w.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** A path in a space-separated list (ReadWritePaths=): quoted when it holds a space or quote. */
    private static String pathWord(String p) {
        String w = specifiers(p);
        return w.matches("[^\\s\"'\\\\]+") ? w : "\"" + w.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String specifiers(String s) {
        return s.replace("%", "%%");
    }

    private static String or(String v, String dflt) {
        return v == null || v.isBlank() ? dflt : v;
    }
}
