package dev.chronodr.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.ConnectionSettings;
import dev.chronodr.pg.Database;
import dev.chronodr.process.ProcessFailedException;
import dev.chronodr.process.ProcessResult;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.process.ProcessSpec;

/**
 * The sandbox's server in a container of an image with the official postgres image's
 * interface (POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, data in /var/lib/postgresql/data),
 * published on a loopback port only, its data in a named volume. The password reaches the
 * container through an env file (mode 0600) in the sandbox's home, never docker's argv.
 * Commands with {@code --sandbox} then run PostgreSQL's tools inside it ({@code exec docker}),
 * so the host needs no PostgreSQL at all, and the server may be newer than any on the host.
 */
final class ContainerServer implements SandboxServer {
    static final String DATA_DIR = "/var/lib/postgresql/data";
    private static final Duration READY = Duration.ofSeconds(120);

    private final String name;
    private final String image;
    private final int port;
    private final Secret password;
    private final String dbname;
    private final ProcessRunner runner;

    private ContainerServer(String name, String image, int port, Secret password, String dbname, ProcessRunner runner) {
        this.name = name;
        this.image = image;
        this.port = port;
        this.password = password;
        this.dbname = dbname;
        this.runner = runner;
    }

    static ContainerServer open(String name, String image, int port, Secret password, String dbname, ProcessRunner runner) {
        return new ContainerServer(name, image, port, password, dbname, runner);
    }

    /** One container (and volume) name per sandbox home, so two homes never share one. */
    static String nameFor(Path home) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(home.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
            return "chrono-dr-sandbox-" + HexFormat.of().formatHex(h, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Runs a new container and waits until it takes connections. A container or volume of the
     * same name that exists already is refused (it is not ours to reuse or delete).
     */
    static ContainerServer create(Path home, String image, int port, Secret password, String user, String dbname, ProcessRunner runner)
            throws IOException {
        String name = nameFor(home);
        ContainerServer server = new ContainerServer(name, image, port, password, dbname, runner);
        if (server.docker(List.of("container", "inspect", name)).succeeded()) {
            throw ChronoException.failed("a container named " + name + " already exists, left by an earlier sandbox",
                    "remove it with: docker rm -f " + name + " && docker volume rm " + name);
        }
        if (server.docker(List.of("image", "inspect", image)).exitCode() != 0) {
            throw ChronoException.usage("no image " + image + " on this Docker engine",
                    "pull or build it first (docker pull " + image + "); the image needs the official postgres image's interface");
        }
        Path envFile = home.resolve("container.env");
        Files.writeString(envFile, "");
        Files.setPosixFilePermissions(envFile, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(envFile, "POSTGRES_PASSWORD=" + password.reveal() + "\nPOSTGRES_USER=" + user + "\nPOSTGRES_DB=" + dbname + "\n");
        List<String> argv = new ArrayList<>(List.of("run", "--detach", "--name", name, "--env-file", envFile.toString(),
                "--publish", "127.0.0.1:" + port + ":5432", "--volume", name + ":" + DATA_DIR,
                "--label", "dev.chronodr.sandbox=" + home.toAbsolutePath(), image));
        server.dockerOrFail(argv, "could not start a container of " + image);
        server.awaitReady();
        return server;
    }

    String name() {
        return name;
    }

    @Override
    public boolean isRunning() {
        ProcessResult r = docker(List.of("container", "inspect", "--format", "{{.State.Running}}", name));
        return r.succeeded() && r.stdout().strip().equals("true");
    }

    @Override
    public void start() {
        if (!docker(List.of("container", "inspect", name)).succeeded()) {
            throw ChronoException.failed("the sandbox's container " + name + " is gone",
                    "remove the sandbox (chrono-dr sandbox remove) and start a new one");
        }
        dockerOrFail(List.of("start", name), "could not start the container " + name);
        awaitReady();
    }

    @Override
    public void stop() {
        if (isRunning()) {
            dockerOrFail(List.of("stop", "--time", "60", name), "could not stop the container " + name);
        }
    }

    /** The container and its volume; what is already gone is fine. */
    @Override
    public void remove() {
        docker(List.of("rm", "--force", "--volumes", name));
        docker(List.of("volume", "rm", "--force", name));
    }

    private void awaitReady() {
        ConnectionSettings conn = new ConnectionSettings("127.0.0.1", port, dbname, LocalCluster.SUPERUSER, password, "disable");
        long deadline = System.nanoTime() + READY.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            if (!isRunning()) {
                throw ChronoException.failed("the container " + name + " stopped while starting: " + logTail(),
                        "see: docker logs " + name);
            }
            try (Connection c = Database.connect(conn)) {
                return;
            } catch (SQLException | ChronoException e) {
                last = e; // the entrypoint's initdb, then its server's restart
            }
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ChronoException.failed("interrupted while waiting for the container " + name, null);
            }
        }
        throw ChronoException.failed("the container " + name + " took no connections within " + READY.toSeconds() + " s"
                + (last == null ? "" : ": " + last.getMessage()), "see: docker logs " + name);
    }

    private String logTail() {
        ProcessResult r = docker(List.of("logs", "--tail", "5", name));
        String text = (r.stdout() + " " + r.stderrTail()).strip().replaceAll("\\s+", " ");
        return text.isEmpty() ? "(no output)" : text;
    }

    private ProcessResult docker(List<String> args) {
        List<String> argv = new ArrayList<>(List.of("docker"));
        argv.addAll(args);
        try {
            return runner.execute(ProcessSpec.of(argv).withTimeout(Duration.ofSeconds(120)));
        } catch (ProcessFailedException e) {
            if (e.exitCode() == -1 && !e.timedOut()) {
                throw ChronoException.unknown("docker is not installed or not on PATH: " + e.getMessage(),
                        "install Docker, or start the sandbox without --image to use local PostgreSQL binaries");
            }
            throw ChronoException.failed("docker " + String.join(" ", args) + " failed: " + e.getMessage(), null, e);
        }
    }

    private void dockerOrFail(List<String> args, String what) {
        ProcessResult r = docker(args);
        if (!r.succeeded()) {
            throw ChronoException.failed(what + ": " + r.stderrTail().strip().replaceAll("\\s+", " "),
                    "is the Docker engine running? (docker info)");
        }
    }

    String image() {
        return image;
    }
}
