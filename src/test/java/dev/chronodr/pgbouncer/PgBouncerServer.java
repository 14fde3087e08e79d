package dev.chronodr.pgbouncer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * Debian's pgbouncer (apt package pgbouncer) for tests: started in the foreground on the
 * files chrono-dr generated, as the postgres OS user (PgBouncer refuses to run as root),
 * and stopped by {@link #stop()}.
 */
final class PgBouncerServer {
    static final Path BINARY = Path.of("/usr/sbin/pgbouncer");

    private final Process process;
    private final Path log;

    private PgBouncerServer(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    static void assumeInstalled() {
        Assumptions.assumeTrue(Files.isExecutable(BINARY), "needs Debian's pgbouncer: apt-get install pgbouncer");
    }

    static int freePort() {
        return dev.chronodr.sandbox.LocalCluster.freePort();
    }

    /** Starts PgBouncer on {@code ini} (in {@code dir}, handed to the postgres user) and waits until it listens on {@code port}. */
    static PgBouncerServer start(Path dir, Path ini, int port) throws Exception {
        boolean root = "root".equals(System.getProperty("user.name"));
        if (root) {
            new ProcessBuilder("chown", "-R", "postgres", dir.toString()).inheritIO().start().waitFor();
        }
        List<String> argv = new ArrayList<>(List.of(BINARY.toString()));
        if (root) {
            argv.addAll(List.of("-u", "postgres"));
        }
        argv.add(ini.toString());
        Path log = dir.resolve("pgbouncer.stderr");
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        PgBouncerServer server = new PgBouncerServer(p, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("pgbouncer exited " + p.exitValue() + ": " + Files.readString(log));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return server;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        server.stop();
        throw new IllegalStateException("pgbouncer did not listen on " + port + " within 15 s: " + Files.readString(log));
    }

    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    void stop() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
