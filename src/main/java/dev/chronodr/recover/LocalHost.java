package dev.chronodr.recover;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.pg.ServiceUser;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/**
 * The server on this machine: its data directory (config {@code recover.data_directory}), run
 * by pg_ctl as the postgres OS user, or by the systemd unit {@code recover.systemd_unit}.
 */
final class LocalHost implements DatabaseHost {
    private static final Duration LOOK = Duration.ofSeconds(60);

    private final Path dataDir;
    private final String unit;
    private final Path logFile;
    private final ConnectionSettings conn;
    private final ProcessRunner runner;
    private final Environment env;

    LocalHost(Path dataDir, String unit, Path logFile, ConnectionSettings conn, ProcessRunner runner, Environment env) {
        this.dataDir = dataDir;
        this.unit = unit;
        this.logFile = logFile != null ? logFile : dataDir.toAbsolutePath().getParent().resolve("chrono-dr-recover-postgres.log");
        this.conn = conn;
        this.runner = runner;
        this.env = env;
    }

    @Override
    public String describe() {
        return "data directory " + dataDir + (unit != null ? " (systemd unit " + unit + ")" : " (pg_ctl)");
    }

    private Path bin(String program) {
        int major;
        try {
            major = Integer.parseInt(Files.readString(dataDir.resolve("PG_VERSION")).strip());
        } catch (IOException | NumberFormatException e) {
            throw ChronoException.failed("cannot read " + dataDir.resolve("PG_VERSION") + ": " + e.getMessage(),
                    "check recover.data_directory in the config");
        }
        return ServerBinaries.find(env, major).orElseThrow(() -> ChronoException.unknown(
                "no PostgreSQL " + major + " server programs on this machine", ServerBinaries.INSTALL_HINT)).resolve(program);
    }

    /** The pid in postmaster.pid when a postgres process with that pid is alive. */
    private Optional<ProcessHandle> postmaster() {
        return postmasterPid().flatMap(p -> {
            try {
                return ProcessHandle.of(Long.parseLong(p));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }).filter(ProcessHandle::isAlive).filter(h -> h.info().command().map(c -> c.contains("postgres") || c.contains("postmaster"))
                .orElse(true));
    }

    @Override
    public ServerState state() {
        if (unit != null) {
            ProcessResult r = runner.execute(ProcessSpec.of("systemctl", "is-active", unit).withTimeout(LOOK));
            return new ServerState(r.stdout().strip().equals("active"), "systemd unit " + unit + ": " + r.stdout().strip());
        }
        if (!Files.isDirectory(dataDir)) {
            return new ServerState(false, "data directory " + dataDir + " does not exist");
        }
        return postmaster().map(h -> new ServerState(true, "postmaster pid " + h.pid() + " running"))
                .orElseGet(() -> new ServerState(false, "no postmaster running for " + dataDir));
    }

    @Override
    public List<String> logTail(int lines) {
        if (unit != null) {
            ProcessResult r = runner.execute(ProcessSpec.of("journalctl", "-u", unit, "-n", String.valueOf(lines), "--no-pager").withTimeout(LOOK));
            return r.stdout().lines().toList();
        }
        if (!Files.isReadable(logFile)) {
            return List.of("(no log at " + logFile + "; set recover.log_file)");
        }
        try (Stream<String> s = Files.lines(logFile)) {
            List<String> all = s.toList();
            return all.size() > lines ? all.subList(all.size() - lines, all.size()) : all;
        } catch (IOException | java.io.UncheckedIOException e) {
            return List.of("(cannot read " + logFile + ": " + e.getMessage() + ")");
        }
    }

    @Override
    public ToolOutput controlData() {
        try {
            ProcessResult r = runner.execute(ProcessSpec.of(bin("pg_controldata").toString(), dataDir.toString()).withTimeout(LOOK)
                    .withEnv(java.util.Map.of("LC_ALL", "C")));
            return new ToolOutput(r.succeeded(), r.succeeded() ? r.stdout() : r.stdout() + r.stderrTail());
        } catch (ChronoException | ProcessFailedException e) {
            return new ToolOutput(false, e.getMessage());
        }
    }

    @Override
    public ToolOutput pgIsReady() {
        try {
            ProcessResult r = runner.execute(ProcessSpec.of(bin("pg_isready").toString(), "-h", conn.host(), "-p", String.valueOf(conn.port()))
                    .withTimeout(LOOK));
            return new ToolOutput(r.succeeded(), (r.stdout() + r.stderrTail()).strip());
        } catch (ChronoException | ProcessFailedException e) {
            return new ToolOutput(false, e.getMessage());
        }
    }

    @Override
    public Optional<String> anotherServerAnswers(java.sql.Connection login) {
        List<String> pid;
        try {
            pid = Files.readAllLines(dataDir.resolve("postmaster.pid"));
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.of("no postmaster.pid in " + dataDir + ": a server that is not this one answers on port " + conn.port());
        } catch (IOException e) {
            return Optional.empty(); // unreadable here (not root, not postgres): nothing proves it is another server
        }
        // postmaster.pid: pid, data directory, start time (epoch seconds), port, socket directory, listen address, ...
        String ours = pid.isEmpty() ? "" : pid.get(0).strip();
        Answer answer = Answer.of(login);
        // Who took the login: its backend, when it is a postgres process on this machine, is a child of that postmaster.
        Optional<ProcessHandle> backend = answer.backend();
        if (backend.isPresent()) {
            long parent = backend.get().parent().map(ProcessHandle::pid).orElse(-1L);
            boolean alive = postmaster().isPresent();
            return alive && String.valueOf(parent).equals(ours) ? Optional.empty()
                    : Optional.of("the login on port " + conn.port() + " was taken by postmaster " + parent + ", not by the one of " + dataDir
                    + (alive ? " (pid " + ours + ")" : " (not running)") + ": a server that is not this one answers on port " + conn.port());
        }
        // Not visible from here (a pooler, another PID namespace, a hidden /proc): when the postmaster that took the
        // login started, against this data directory's (the two clocks are read a moment apart at start-up).
        Long started = pid.size() > 2 ? parseLong(pid.get(2).strip()) : null;
        if (started != null && answer.started() != null) {
            return Math.abs(started - answer.started()) <= 1 ? Optional.empty()
                    : Optional.of("the server that answered on port " + conn.port() + " started at " + java.time.Instant.ofEpochSecond(answer.started())
                    + ", the postmaster of " + dataDir + " at " + java.time.Instant.ofEpochSecond(started)
                    + ": a server that is not this one answers on port " + conn.port());
        }
        // Nothing to compare: what postmaster.pid says.
        if (postmaster().isEmpty()) {
            return Optional.of("the postmaster of " + dataDir + " is not running: a server that is not this one answers on port " + conn.port());
        }
        String port = pid.size() > 3 ? pid.get(3).strip() : "";
        return port.equals(String.valueOf(conn.port())) ? Optional.empty()
                : Optional.of(dataDir + " serves port " + port + ", not the configured " + conn.port() + ": another server answers there");
    }

    private static Long parseLong(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * What the server that took a login says of itself, in one query: its backend's pid and when
     * its postmaster started (epoch seconds); a null field when it cannot be asked.
     */
    private record Answer(Long backendPid, Long started) {
        static Answer of(java.sql.Connection login) {
            try (java.sql.Statement st = login.createStatement(); java.sql.ResultSet rs = st.executeQuery(
                    "SELECT pg_backend_pid(), floor(extract(epoch FROM pg_postmaster_start_time()))::bigint")) {
                return rs.next() ? new Answer(rs.getLong(1), rs.getLong(2)) : new Answer(null, null);
            } catch (java.sql.SQLException e) {
                return new Answer(null, null);
            }
        }

        /** The backend, when it is a postgres process visible on this machine. */
        Optional<ProcessHandle> backend() {
            return Optional.ofNullable(backendPid).flatMap(ProcessHandle::of).filter(h -> h.parent().isPresent())
                    .filter(h -> h.info().command().map(c -> c.contains("postgres") || c.contains("postmaster")).orElse(false));
        }
    }

    @Override
    public Optional<String> postmasterPid() {
        try {
            return Files.readAllLines(dataDir.resolve("postmaster.pid")).stream().findFirst().map(String::strip);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    @Override
    public List<String> resources() {
        return List.of("host memory: " + HostFacts.memory(), "data directory disk: " + HostFacts.disk(dataDir));
    }

    @Override
    public long dataBytes() {
        try (Stream<Path> files = Files.walk(dataDir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0; // a WAL segment recycled while we walk
                }
            }).sum();
        } catch (IOException | java.io.UncheckedIOException e) {
            return -1;
        }
    }

    @Override
    public void copyData(Path dest) {
        // cp -a keeps owners and modes, so the copy can be started as it is.
        try {
            runner.run(ProcessSpec.of("cp", "-a", dataDir.toString(), dest.toString()).withTimeout(Duration.ofHours(6)));
        } catch (ProcessFailedException e) {
            throw ChronoException.failed("could not copy " + dataDir + ": " + e.getMessage(), null);
        }
    }

    @Override
    public void stop() {
        if (unit != null) {
            systemctl("stop");
        } else if (postmaster().isPresent()) {
            ServiceUser.run(runner, List.of(bin("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "fast", "-w", "-t", "120", "stop"),
                    null, Duration.ofMinutes(3));
        }
    }

    @Override
    public void start() {
        if (unit != null) {
            systemctl("start");
            return;
        }
        // A postmaster.pid left by a crash stays where it is: PostgreSQL itself decides it is stale, and
        // uses the shared-memory key in it to refuse to start while children of the dead server still run.
        // -W: the wait for readiness is recover's own, with its deadline; -l: the server must not hold our pipes.
        ServiceUser.run(runner, List.of(bin("pg_ctl").toString(), "-D", dataDir.toString(), "-l", logFile.toString(), "-W", "start"),
                null, Duration.ofMinutes(2));
    }

    @Override
    public String startCommand() {
        return unit != null ? "systemctl start " + unit : "pg_ctl -D " + dataDir + " -l " + logFile + " start (as postgres)";
    }

    private void systemctl(String verb) {
        try {
            runner.run(ProcessSpec.of("systemctl", verb, unit).withTimeout(Duration.ofMinutes(5)));
        } catch (ProcessFailedException e) {
            throw ChronoException.failed("systemctl " + verb + " " + unit + " failed: " + e.getMessage(), "journalctl -u " + unit);
        }
    }
}
