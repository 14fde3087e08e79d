package dev.chronodr.sandbox;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ServiceUser;
import dev.chronodr.process.ProcessRunner;

/**
 * A throwaway PostgreSQL cluster owned by chrono-dr: initdb in a directory of its own
 * (data checksums on), a free port on 127.0.0.1, SCRAM passwords over TCP. Used by the
 * sandbox and by the tests. PostgreSQL refuses to run as root, so as root the server
 * programs run as the {@code postgres} OS user.
 */
public final class LocalCluster implements SandboxServer {
    public static final String SUPERUSER = "postgres";

    private final Path base;
    private final Path bin;
    private final int port;
    private final Secret password;
    private final ProcessRunner runner;

    private LocalCluster(Path base, Path bin, int port, Secret password, ProcessRunner runner) {
        this.base = base;
        this.bin = bin;
        this.port = port;
        this.password = password;
        this.runner = runner;
    }

    /** Settings for a new cluster. {@code fast} turns fsync off: for throwaway data only. */
    public record Options(int port, boolean fast, Map<String, String> settings) {
        public static Options defaults() {
            return new Options(0, true, Map.of());
        }

        public Options withSetting(String name, String value) {
            Map<String, String> s = new LinkedHashMap<>(settings);
            s.put(name, value);
            return new Options(port, fast, s);
        }
    }

    /** An existing cluster directory created earlier by {@link #create}. */
    public static LocalCluster open(Path base, Path bin, int port, Secret password, ProcessRunner runner) {
        return new LocalCluster(base, bin, port, password, runner);
    }

    /** initdb into {@code base/data}; the directory must not hold a cluster yet. */
    public static LocalCluster create(Path base, Path bin, Secret password, Options options, ProcessRunner runner) {
        try {
            Files.createDirectories(base);
            Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx------"));
            if (Files.exists(base.resolve("data"))) {
                throw ChronoException.usage("a cluster already exists in " + base.resolve("data"), "remove it first");
            }
            int port = options.port() > 0 ? options.port() : freePort();
            LocalCluster cluster = new LocalCluster(base, bin, port, password, runner);
            Path pwfile = base.resolve("initdb.pw");
            Files.writeString(pwfile, password.reveal() + "\n");
            Files.setPosixFilePermissions(pwfile, PosixFilePermissions.fromString("rw-------"));
            Files.createDirectories(base.resolve("socket"));
            cluster.handOver();
            try {
                cluster.serverCommand(List.of(bin.resolve("initdb").toString(), "-D", cluster.dataDir().toString(),
                        "-U", SUPERUSER, "--pwfile=" + pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
                        "--data-checksums", "--encoding=UTF8", "--locale=C", "--no-sync"), Duration.ofMinutes(5));
            } finally {
                Files.deleteIfExists(pwfile);
            }
            Map<String, String> conf = new LinkedHashMap<>();
            conf.put("port", String.valueOf(port));
            conf.put("listen_addresses", "'127.0.0.1'");
            conf.put("unix_socket_directories", "'" + base.resolve("socket") + "'");
            conf.put("max_connections", "60");
            conf.put("shared_buffers", "128MB");
            if (options.fast()) {
                conf.put("fsync", "off");
                conf.put("synchronous_commit", "off");
                conf.put("full_page_writes", "off");
            }
            options.settings().forEach((k, v) -> conf.put(k, v));
            StringBuilder sb = new StringBuilder("\n# chrono-dr throwaway cluster\n");
            conf.forEach((k, v) -> sb.append(k).append(" = ").append(v).append('\n'));
            Files.writeString(cluster.dataDir().resolve("postgresql.conf"), sb.toString(), java.nio.file.StandardOpenOption.APPEND);
            return cluster;
        } catch (IOException e) {
            throw ChronoException.failed("cannot create a cluster in " + base + ": " + e.getMessage(), null, e);
        }
    }

    public Path base() {
        return base;
    }

    public Path dataDir() {
        return base.resolve("data");
    }

    public Path bin() {
        return bin;
    }

    public Path logFile() {
        return base.resolve("server.log");
    }

    public int port() {
        return port;
    }

    public Secret password() {
        return password;
    }

    public ConnectionSettings connection(String dbname) {
        return new ConnectionSettings("127.0.0.1", port, dbname, SUPERUSER, password, "disable");
    }

    public void start() {
        try {
            serverCommand(List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir().toString(), "-l", logFile().toString(),
                    "-w", "-t", "60", "start"), Duration.ofSeconds(90));
        } catch (ChronoException e) {
            throw ChronoException.failed("PostgreSQL did not start in " + dataDir() + ": " + e.getMessage(),
                    "see " + logFile(), e);
        }
    }

    /** Starts, retrying while the children of a killed postmaster still hold shared memory. */
    public void startAfterCrash() {
        ChronoException last = null;
        for (int i = 0; i < 20; i++) {
            try {
                start();
                return;
            } catch (ChronoException e) {
                last = e;
                sleep(500);
            }
        }
        throw last;
    }

    public void stop() {
        if (isRunning()) {
            serverCommand(List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir().toString(), "-m", "fast", "-w", "-t", "60", "stop"),
                    Duration.ofSeconds(90));
        }
    }

    public void restart() {
        stop();
        start();
    }

    /** Simulates a crash: SIGKILL to the postmaster, as a power cut or OOM killer would. */
    public void kill9() {
        postmasterPid().flatMap(ProcessHandle::of).ifPresent(h -> {
            h.destroyForcibly();
            h.onExit().join();
        });
    }

    public boolean isRunning() {
        return postmasterPid().flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
    }

    public Optional<Long> postmasterPid() {
        Path pidFile = dataDir().resolve("postmaster.pid");
        try {
            String first = Files.readAllLines(pidFile).get(0).strip();
            return Optional.of(Long.parseLong(first));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Stops the server (immediately) and deletes everything under the base directory. */
    public void remove() {
        try {
            if (isRunning()) {
                serverCommand(List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir().toString(), "-m", "immediate", "-w", "stop"),
                        Duration.ofSeconds(60));
            }
        } catch (RuntimeException e) {
            kill9();
        }
        deleteTree(base);
    }

    /** Runs SQL as the superuser over JDBC. */
    public void execute(String dbname, String sql) {
        try (Connection c = Database.connect(connection(dbname)); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("SQL failed on " + dbname + ": " + e.getMessage(), e);
        }
    }

    public void createDatabase(String name) {
        execute("postgres", "CREATE DATABASE " + dev.chronodr.pg.Identifiers.quote(name));
    }

    private void serverCommand(List<String> argv, Duration timeout) {
        ServiceUser.run(runner, argv, base, timeout);
    }

    /** As root, give the cluster directory to the postgres OS user, who must be able to reach it. */
    private void handOver() throws IOException {
        if (!isRoot()) {
            return;
        }
        for (Path p = base.getParent(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p) && !Files.getPosixFilePermissions(p).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
                throw ChronoException.usage("the postgres OS user cannot reach " + base + " (" + p + " is not searchable by others)",
                        "choose a directory under /tmp or /var/lib, e.g. set CHRONO_DR_SANDBOX=/var/lib/chrono-dr/sandbox");
            }
        }
        ServiceUser.handOver(base);
    }

    static boolean isRoot() {
        return ServiceUser.isRoot();
    }

    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * A port free on 127.0.0.1, below the kernel's ephemeral range (32768 and up on Linux, where
     * client connections take their local ports) and never the same one twice in this process:
     * a server killed and started again finds its port where it left it, not taken by another
     * sandbox or by a connection's local end.
     */
    public static int freePort() {
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        for (int i = 0; i < 500; i++) {
            int port = 20000 + random.nextInt(12000);
            if (HANDED_OUT.add(port)) {
                try (ServerSocket s = new ServerSocket()) {
                    s.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1);
                    return port;
                } catch (IOException e) {
                    // in use: try another
                }
            }
        }
        throw new IllegalStateException("no free port between 20000 and 32000 on 127.0.0.1");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException("cannot remove " + root + ": " + e.getMessage(), e);
        }
    }
}
