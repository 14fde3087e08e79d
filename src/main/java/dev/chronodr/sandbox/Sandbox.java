package dev.chronodr.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

import dev.chronodr.core.AtomicFile;
import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Clock;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.pg.ServerInfo;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.core.Json;

/**
 * The throwaway sandbox: one local cluster with a seeded Chrono Scraper database and a
 * backup repository of its own, so a newcomer sees every command work on this machine.
 */
public final class Sandbox {
    public static final String DBNAME = "chrono_scraper";
    public static final List<String> CRITICAL_TABLES = List.of("users", "projects", "domains", "pages", "scrape_pages");

    private final Path home;
    private final Environment env;

    private Sandbox(Path home, Environment env) {
        this.home = home;
        this.env = env;
    }

    /** CHRONO_DR_SANDBOX, else a state directory the postgres OS user can reach when we are root. */
    public static Sandbox at(Environment env) {
        String explicit = env.get("CHRONO_DR_SANDBOX");
        if (explicit != null) {
            return new Sandbox(env.resolve(explicit), env);
        }
        if (LocalCluster.isRoot()) {
            return new Sandbox(Path.of("/var/lib/chrono-dr/sandbox"), env);
        }
        String xdg = env.get("XDG_STATE_HOME");
        Path state = xdg != null ? Path.of(xdg) : env.home().resolve(".local/state");
        return new Sandbox(state.resolve("chrono-dr/sandbox"), env);
    }

    public Path home() {
        return home;
    }

    private Path stateFile() {
        return home.resolve("sandbox.json");
    }

    public Optional<SandboxState> state() {
        if (!Files.isRegularFile(stateFile())) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.mapper().readValue(stateFile().toFile(), SandboxState.class));
        } catch (IOException e) {
            throw ChronoException.failed("sandbox state " + stateFile() + " is unreadable: " + e.getMessage(),
                    "remove the sandbox with: chrono-dr sandbox remove");
        }
    }

    private SandboxServer server(SandboxState s, ProcessRunner runner) {
        if (s.inContainer()) {
            return ContainerServer.open(s.container(), s.image(), s.port(), readPassword(s), s.dbname(), runner);
        }
        return LocalCluster.open(Path.of(s.clusterDir()), Path.of(s.bin()), s.port(), readPassword(s), runner);
    }

    private static Secret readPassword(SandboxState s) {
        try {
            return Secret.of(Files.readString(Path.of(s.passwordFile())).strip());
        } catch (IOException e) {
            throw ChronoException.failed("sandbox password file " + s.passwordFile() + " is unreadable", "remove and start the sandbox again");
        }
    }

    /**
     * Creates, starts and seeds the sandbox if needed; starts it if stopped. With {@code image},
     * its server runs in a container of that image instead of a local cluster.
     */
    public SandboxReport start(int scale, int port, String image, ProcessRunner runner) {
        Optional<SandboxState> existing = state();
        if (existing.isPresent()) {
            SandboxState s = existing.get();
            if (image != null && !image.equals(s.image())) {
                throw ChronoException.usage("the sandbox at " + home + " exists already, "
                        + (s.inContainer() ? "in a container of " + s.image() : "as a local cluster"),
                        "start it without --image, or remove it first: chrono-dr sandbox remove");
            }
            SandboxServer c = server(s, runner);
            boolean wasRunning = c.isRunning();
            if (!wasRunning) {
                c.start();
            }
            return report(s, true, wasRunning ? "already running" : "started");
        }
        if (image != null) {
            return startInContainer(scale, port, image, runner);
        }
        Path bin = ServerBinaries.find(env).orElseThrow(() -> ChronoException.unknown(
                "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found on this machine",
                ServerBinaries.INSTALL_HINT + ", or run the sandbox in a container: chrono-dr sandbox start --image postgres:17"));
        long t0 = System.nanoTime();
        try {
            Files.createDirectories(home);
            Files.setPosixFilePermissions(home, PosixFilePermissions.fromString(LocalCluster.isRoot() ? "rwx--x--x" : "rwx------"));
            Path repo = makeRepo();
            Path pwFile = home.resolve("password");
            Secret password = makePassword(pwFile);

            Path clusterDir = home.resolve("cluster");
            LocalCluster c = LocalCluster.create(clusterDir, bin, password, new LocalCluster.Options(port, true, java.util.Map.of()), runner);
            c.start();
            c.createDatabase(DBNAME);
            String version;
            try (Connection conn = Database.connect(c.connection(DBNAME))) {
                DemoData.seed(conn, scale);
                version = ServerInfo.probe(conn).versionString();
            }
            SandboxState s = new SandboxState(c.port(), DBNAME, LocalCluster.SUPERUSER, pwFile.toString(), repo.toString(),
                    clusterDir.toString(), bin.toString(), scale, version, Clock.now(), null, null);
            writeState(s);
            SandboxReport r = report(s, true, "created and seeded in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            return r;
        } catch (IOException | SQLException e) {
            LocalCluster.deleteTree(home);
            throw ChronoException.failed("could not create the sandbox: " + e.getMessage(), null, e);
        } catch (RuntimeException e) {
            // Leave nothing half-made that a later start would take for a sandbox.
            try {
                if (Files.isDirectory(home.resolve("cluster/data"))) {
                    LocalCluster.open(home.resolve("cluster"), bin, 0, null, runner).remove();
                }
            } finally {
                LocalCluster.deleteTree(home);
            }
            throw e;
        }
    }

    private SandboxReport startInContainer(int scale, int port, String image, ProcessRunner runner) {
        long t0 = System.nanoTime();
        ContainerServer server = null;
        try {
            Files.createDirectories(home);
            Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
            Path repo = makeRepo();
            Path pwFile = home.resolve("password");
            Secret password = makePassword(pwFile);
            int p = port != 0 ? port : LocalCluster.freePort();
            server = ContainerServer.create(home, image, p, password, LocalCluster.SUPERUSER, DBNAME, runner);
            String version;
            try (Connection conn = Database.connect(new dev.chronodr.pg.ConnectionSettings("127.0.0.1", p, DBNAME,
                    LocalCluster.SUPERUSER, password, "disable"))) {
                DemoData.seed(conn, scale);
                version = ServerInfo.probe(conn).versionString();
            }
            SandboxState s = new SandboxState(p, DBNAME, LocalCluster.SUPERUSER, pwFile.toString(), repo.toString(),
                    null, null, scale, version, Clock.now(), server.name(), image);
            writeState(s);
            return report(s, true, "created in container " + server.name() + " and seeded in "
                    + (System.nanoTime() - t0) / 1_000_000 + " ms");
        } catch (IOException | SQLException | RuntimeException e) {
            // Leave nothing half-made: no container, volume or state that a later start would take for a sandbox.
            try {
                if (server != null) {
                    server.remove();
                }
            } finally {
                LocalCluster.deleteTree(home);
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw ChronoException.failed("could not create the sandbox: " + e.getMessage(), null, e);
        }
    }

    private Path makeRepo() throws IOException {
        Path repo = home.resolve("backups");
        Files.createDirectories(repo);
        Files.setPosixFilePermissions(repo, PosixFilePermissions.fromString("rwx------"));
        return repo;
    }

    private static Secret makePassword(Path pwFile) throws IOException {
        byte[] raw = new byte[18];
        new SecureRandom().nextBytes(raw);
        Secret password = Secret.of(HexFormat.of().formatHex(raw));
        Files.writeString(pwFile, "");
        Files.setPosixFilePermissions(pwFile, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(pwFile, password.reveal() + "\n");
        return password;
    }

    public SandboxReport stop(ProcessRunner runner) {
        SandboxState s = state().orElseThrow(() -> ChronoException.usage("no sandbox at " + home, "start one with: chrono-dr sandbox start"));
        SandboxServer c = server(s, runner);
        boolean was = c.isRunning();
        c.stop();
        return report(s, false, was ? "stopped" : "was not running");
    }

    public SandboxReport status(ProcessRunner runner) {
        Optional<SandboxState> s = state();
        if (s.isEmpty()) {
            return new SandboxReport(home.toString(), false, false, null, "no sandbox; start one with: chrono-dr sandbox start");
        }
        boolean running = server(s.get(), runner).isRunning();
        return report(s.get(), running, running ? "running" : "stopped");
    }

    public SandboxReport remove(ProcessRunner runner) {
        Optional<SandboxState> s = state();
        if (s.isPresent()) {
            server(s.get(), runner).remove();
        }
        LocalCluster.deleteTree(home);
        return new SandboxReport(home.toString(), false, false, null, s.isPresent() ? "removed" : "nothing to remove");
    }

    private SandboxReport report(SandboxState s, boolean running, String message) {
        return new SandboxReport(home.toString(), true, running, s, message);
    }

    private void writeState(SandboxState s) throws IOException {
        AtomicFile.write(stateFile(), Json.mapper().writeValueAsBytes(s));
    }
}
