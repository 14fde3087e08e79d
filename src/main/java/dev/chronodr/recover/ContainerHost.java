package dev.chronodr.recover;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.chronodr.core.ChronoException;
import dev.chronodr.pg.ComposeFrontEnd;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;
import dev.chronodr.report.TextOutput;

/**
 * The server in a compose service ({@code --exec compose}) or a docker container
 * ({@code --exec docker}). What is read in the data volume is read through the container
 * when it runs ({@code docker exec}), and through a throwaway container of the same image
 * that mounts the stopped container's volumes read-only, without network, when it does not
 * ({@code docker run --rm --network none --volumes-from ID:ro}): pg_controldata and the
 * postmaster.pid of a server that will not start are exactly what a person needs to see.
 */
final class ContainerHost implements DatabaseHost {
    private static final Duration LOOK = Duration.ofSeconds(60);
    private static final Duration ACT = Duration.ofMinutes(5);
    private static final Duration COPY = Duration.ofHours(6);
    /** Time for the shutdown checkpoint before docker kills the server (its default is 10 s). */
    private static final String STOP_SECONDS = "120";

    private final ExecSettings exec;
    private final ConnectionSettings conn;
    private final ProcessRunner runner;
    private final String dataDir;
    private ComposeFrontEnd frontEnd;

    ContainerHost(ExecSettings exec, ConnectionSettings conn, ProcessRunner runner, String dataDir) {
        this.exec = exec;
        this.conn = conn;
        this.runner = runner;
        this.dataDir = dataDir;
    }

    private boolean compose() {
        return exec.mode() == ExecMode.COMPOSE;
    }

    private List<String> composeArgv(String... words) {
        if (frontEnd == null) {
            frontEnd = ComposeFrontEnd.detect(exec.dockerBinary(), runner);
        }
        return frontEnd.argv(exec, List.of(words));
    }

    /** The container's id (compose: the service's, stopped ones included), or empty when there is none. */
    String containerId() {
        if (!compose()) {
            return exec.container();
        }
        ProcessResult ps = runner.execute(ProcessSpec.of(composeArgv("ps", "-a", "-q", exec.composeService())).withTimeout(LOOK));
        String id = ps.stdout().strip();
        return !ps.succeeded() || id.contains("\n") ? "" : id;
    }

    private String inspect(String id, String format) {
        ProcessResult r = runner.execute(ProcessSpec.of(exec.dockerBinary(), "inspect", "--format", format, id).withTimeout(LOOK));
        return r.succeeded() ? r.stdout().strip() : null;
    }

    @Override
    public String describe() {
        return compose() ? "compose service " + exec.composeService() + (exec.composeFile() == null ? "" : " (" + exec.composeFile() + ")")
                : "docker container " + exec.container();
    }

    @Override
    public ServerState state() {
        String id = containerId();
        if (id.isEmpty()) {
            return new ServerState(false, "no container for " + describe());
        }
        String s = inspect(id, "{{.State.Status}}|{{.State.ExitCode}}|{{.State.OOMKilled}}|{{.State.StartedAt}}|{{.State.FinishedAt}}"
                + "|{{if .State.Health}}{{.State.Health.Status}}{{end}}");
        if (s == null) {
            return new ServerState(false, "container " + id + " cannot be inspected");
        }
        String[] f = s.split("\\|", -1);
        String shortId = id.length() > 12 ? id.substring(0, 12) : id;
        if (f[0].equals("running")) {
            return new ServerState(true, "container " + shortId + " running since " + f[3] + (f[5].isEmpty() ? "" : ", " + f[5]));
        }
        return new ServerState(false, "container " + shortId + " " + f[0] + " (exit code " + f[1] + (f[2].equals("true") ? ", killed for lack of memory" : "")
                + ") at " + f[4]);
    }

    /**
     * A stopped container publishes no port: whatever answers on it then is another server (one
     * that took the port while the container was down). A running container holds its port.
     */
    @Override
    public Optional<String> anotherServerAnswers(java.sql.Connection login) {
        String id = containerId();
        String status = id.isEmpty() ? null : inspect(id, "{{.State.Status}}");
        if (status == null || status.isBlank() || status.strip().equals("running")) {
            return Optional.empty(); // running, or a state that cannot be read: nothing proves it is another server
        }
        return Optional.of("container " + (id.length() > 12 ? id.substring(0, 12) : id) + " is " + status.strip()
                + ": a server that is not this one answers on port " + conn.port());
    }

    @Override
    public List<String> logTail(int lines) {
        String id = containerId();
        if (id.isEmpty()) {
            return List.of();
        }
        // docker logs hands each stream back on its own (the server logs to stderr, the entrypoint to
        // stdout): with --timestamps the two are put back in the order they were written.
        List<String> stderr = new ArrayList<>();
        ProcessResult r = runner.execute(ProcessSpec.of(exec.dockerBinary(), "logs", "--timestamps", "--tail", String.valueOf(lines), id)
                .withTimeout(LOOK).withStderrLines(stderr::add));
        List<String> all = new ArrayList<>(r.stdout().lines().toList());
        all.addAll(stderr);
        all.sort(java.util.Comparator.comparing(ContainerHost::stamp));
        List<String> text = all.stream().map(l -> l.indexOf(' ') > 0 && stamp(l) != java.time.Instant.MIN ? l.substring(l.indexOf(' ') + 1) : l).toList();
        return text.size() > lines ? text.subList(text.size() - lines, text.size()) : text;
    }

    private static java.time.Instant stamp(String line) {
        int space = line.indexOf(' ');
        try {
            return space > 0 ? java.time.Instant.parse(line.substring(0, space)) : java.time.Instant.MIN;
        } catch (java.time.format.DateTimeParseException e) {
            return java.time.Instant.MIN;
        }
    }

    /** A read-only program on the data volume: in the running container, or in a throwaway one. */
    private ToolOutput inVolume(List<String> command) {
        String id = containerId();
        if (id.isEmpty()) {
            return new ToolOutput(false, "no container");
        }
        List<String> argv = new ArrayList<>(List.of(exec.dockerBinary()));
        if ("running".equals(inspect(id, "{{.State.Status}}"))) {
            argv.addAll(List.of("exec", id));
            argv.addAll(command);
        } else {
            String image = inspect(id, "{{.Image}}");
            if (image == null) {
                return new ToolOutput(false, "cannot read the image of container " + id);
            }
            argv.addAll(List.of("run", "--rm", "--network", "none", "--volumes-from", id + ":ro", "--entrypoint", command.get(0), image));
            argv.addAll(command.subList(1, command.size()));
        }
        ProcessResult r = runner.execute(ProcessSpec.of(argv).withTimeout(LOOK));
        return new ToolOutput(r.succeeded(), r.succeeded() ? r.stdout() : r.stdout() + r.stderrTail());
    }

    @Override
    public ToolOutput controlData() {
        return inVolume(List.of("pg_controldata", dataDir));
    }

    @Override
    public ToolOutput pgIsReady() {
        String id = containerId();
        if (id.isEmpty() || !"running".equals(inspect(id, "{{.State.Status}}"))) {
            return new ToolOutput(false, "the container is not running");
        }
        List<String> argv = new ArrayList<>(List.of(exec.dockerBinary(), "exec", id, "pg_isready"));
        if (exec.containerHost() != null && !exec.containerHost().isBlank()) {
            argv.addAll(List.of("-h", exec.containerHost()));
        }
        argv.addAll(List.of("-p", String.valueOf(exec.containerPort()), "-U", conn.user(), "-d", conn.dbname()));
        ProcessResult r = runner.execute(ProcessSpec.of(argv).withTimeout(LOOK));
        return new ToolOutput(r.succeeded(), (r.stdout() + r.stderrTail()).strip());
    }

    @Override
    public Optional<String> postmasterPid() {
        ToolOutput r = inVolume(List.of("cat", dataDir + "/postmaster.pid"));
        return r.ok() ? r.text().lines().findFirst().map(String::strip) : Optional.empty();
    }

    @Override
    public List<String> resources() {
        List<String> lines = new ArrayList<>();
        lines.add("host memory: " + HostFacts.memory());
        ToolOutput df = inVolume(List.of("df", "-Pk", dataDir));
        List<String> rows = df.ok() ? df.text().lines().toList() : List.of();
        if (rows.size() >= 2) {
            String[] f = rows.get(1).trim().split("\\s+");
            lines.add("container disk: " + TextOutput.bytes(Long.parseLong(f[3]) * 1024) + " free of "
                    + TextOutput.bytes(Long.parseLong(f[1]) * 1024) + " at " + dataDir + " (" + f[4] + " used)");
        } else {
            lines.add("container disk: unknown (" + df.text().strip() + ")");
        }
        ToolOutput mem = inVolume(List.of("cat", "/sys/fs/cgroup/memory.max"));
        if (!mem.ok()) {
            mem = inVolume(List.of("cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")); // cgroup v1
        }
        lines.add("container memory limit: " + (mem.ok() ? limit(mem.text().strip()) : "unknown"));
        return lines;
    }

    private static String limit(String max) {
        if (max.equals("max") || max.length() >= 18) { // v1 writes "no limit" as a number near 2^63
            return "none (the host's memory)";
        }
        try {
            return TextOutput.bytes(Long.parseLong(max));
        } catch (NumberFormatException e) {
            return max;
        }
    }

    @Override
    public long dataBytes() {
        ToolOutput du = inVolume(List.of("du", "-sb", dataDir));
        if (!du.ok()) {
            return -1;
        }
        try {
            return Long.parseLong(du.text().strip().split("\\s+")[0]);
        } catch (RuntimeException e) {
            return -1;
        }
    }

    @Override
    public void copyData(Path dest) {
        String id = containerId();
        if (id.isEmpty()) {
            throw ChronoException.failed("no container to copy the data directory from", null);
        }
        // docker cp reads a stopped container's volumes too; it creates dest, which must not exist.
        run(List.of(exec.dockerBinary(), "cp", id + ":" + dataDir, dest.toString()), "copy " + dataDir + " out of the container", COPY);
    }

    @Override
    public void stop() {
        if (compose()) {
            run(composeArgv("stop", "-t", STOP_SECONDS, exec.composeService()), "stop the database service", ACT);
        } else {
            run(List.of(exec.dockerBinary(), "stop", "-t", STOP_SECONDS, exec.container()), "stop the database container", ACT);
        }
    }

    @Override
    public void start() {
        if (compose()) {
            run(composeArgv("up", "-d", exec.composeService()), "start the database service", ACT);
        } else {
            run(List.of(exec.dockerBinary(), "start", exec.container()), "start the database container", ACT);
        }
    }

    @Override
    public String startCommand() {
        if (compose()) {
            return String.join(" ", composeArgv("up", "-d", exec.composeService()));
        }
        return exec.dockerBinary() + " start " + exec.container();
    }

    private void run(List<String> argv, String what, Duration timeout) {
        try {
            runner.run(ProcessSpec.of(argv).withTimeout(timeout));
        } catch (ProcessFailedException e) {
            throw ChronoException.failed("could not " + what + ": " + e.getMessage(), null);
        }
    }
}
