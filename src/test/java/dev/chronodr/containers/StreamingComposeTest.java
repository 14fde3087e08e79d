package dev.chronodr.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.chronodr.config.ConnectionRequest;
import dev.chronodr.config.Target;
import dev.chronodr.config.TargetResolver;
import dev.chronodr.core.Environment;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.DockerTest;
import dev.chronodr.testing.ServerLauncher;
import dev.chronodr.wal.WalReceiveRequest;
import dev.chronodr.wal.WalReceiveResult;
import dev.chronodr.wal.WalReceiver;

/**
 * The documented layout for a database in a container with nothing of chrono-dr inside it:
 * {@code wal-receive} on the host streams WAL through the published port, {@code backup
 * --type physical} takes the base backup through {@code docker-compose exec} (the container's
 * own pg_basebackup), and after the database's container and volume are gone, {@code restore
 * --point-in-time latest} on the host brings back every row committed more than 2 seconds
 * before the loss.
 */
@DockerTest(postgres = 15, app = true)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamingComposeTest {
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private ComposeDeployment deployment;
    private Path dir;
    private Path repo;
    private Path config;
    private LocalCluster restored;
    private WalReceiver.Stop stop;
    private CompletableFuture<WalReceiveResult> receiving;

    @BeforeAll
    void up() throws Exception {
        dir = Files.createTempDirectory("chrono-dr-stream-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        repo = Files.createDirectories(dir.resolve("repo"));
        deployment = new ComposeDeployment(15);
        try {
            deployment.up();
            deployment.execute(ComposeDeployment.DB, """
                    CREATE TABLE orders (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());
                    INSERT INTO orders (id) SELECT g FROM generate_series(1, 500) g;
                    """);
            // What `pitr setup --streaming` prints for the operator to add: a replication line in pg_hba.conf
            deployment.compose("exec", "-T", "postgres", "sh", "-c",
                    "echo 'host replication all all scram-sha-256' >> \"$PGDATA/pg_hba.conf\"");
            deployment.execute(ComposeDeployment.DB, "SELECT pg_reload_conf()");
            config = Files.writeString(dir.resolve("chrono-dr.yaml"), """
                    default_target: chrono_scraper
                    targets:
                      chrono_scraper:
                        host: 127.0.0.1
                        port: %d
                        dbname: chrono_scraper
                        user: chrono_scraper
                        sslmode: disable
                        exec: compose
                        compose:
                          service: postgres
                          file: %s
                        repo: %s
                        critical_tables: [orders]
                    """.formatted(deployment.port(), ComposeDeployment.FILE, repo));
        } catch (RuntimeException | Error e) {
            deployment.close();
            throw e;
        }
    }

    @AfterAll
    void down() throws Exception {
        if (stop != null) {
            stop.request();
        }
        if (restored != null) {
            restored.remove();
        }
        if (deployment != null) {
            deployment.close();
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void aLostContainerComesBackFromTheHostsStreamAndAComposeBaseBackup() throws Exception {
        startReceiver();
        waitFor(Duration.ofSeconds(60), () -> "t".equals(deployment.scalar(ComposeDeployment.DB,
                "SELECT active FROM pg_replication_slots WHERE slot_name = 'chrono_dr'")), "the receiver's slot is active");

        CliRun backup = chrono("backup", "--type", "physical", "--format", "json");
        assertEquals(0, backup.exitCode(), backup::toString);
        String manifest = Files.readString(repo.resolve(backup.json().path("id").asText()).resolve("manifest.json"));
        assertTrue(manifest.contains("compose pg_basebackup"), "taken by the container's pg_basebackup: " + manifest);

        Map<Long, Instant> committed = new ConcurrentHashMap<>();
        AtomicBoolean writing = new AtomicBoolean(true);
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try (Connection c = deployment.connect(ComposeDeployment.DB); Statement st = c.createStatement()) {
                for (long id = 1000; writing.get(); id++) {
                    st.execute("INSERT INTO orders (id) VALUES (" + id + ")");
                    committed.put(id, Instant.now());
                    Thread.sleep(10);
                }
            } catch (Exception lost) {
                // the container went away
            }
        });
        Thread.sleep(8000);
        Instant lost = Instant.now();
        deployment.compose("kill", "postgres");
        writing.set(false);
        writer.get(60, TimeUnit.SECONDS);
        Thread.sleep(2000); // more than the 1 s between stores of the partial segment
        stop.request();
        receiving.get(60, TimeUnit.SECONDS);
        deployment.compose("rm", "-f", "-v", "postgres"); // the container is gone; the host's repository is all there is

        Set<Long> mustHave = new TreeSet<>();
        committed.forEach((id, at) -> {
            if (at.isBefore(lost.minusSeconds(2))) {
                mustHave.add(id);
            }
        });
        assertTrue(mustHave.size() > 20, "rows were committed before the loss: " + mustHave.size());

        giveToPostgres(repo.resolve("wal")); // the recovering server's restore_command reads the archive as postgres
        Path base = Files.createDirectories(dir.resolve("restored"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        int port = LocalCluster.freePort();
        Path bin = ServerBinaries.find(new Environment(System.getenv(), dir)).orElseThrow();
        CliRun r = chrono("restore", "--point-in-time", "latest", "--exec", "local", "--data-dir", base.resolve("data").toString(),
                "-p", String.valueOf(port), "--command", ServerLauncher.write(dir).toString(), "--timeout", "180", "--format", "json");
        restored = LocalCluster.open(base, bin, port, dev.chronodr.core.Secret.of(deployment.env().get("PGPASSWORD")), runner);
        assertEquals(0, r.exitCode(), r::toString);

        Set<Long> got = new TreeSet<>();
        Properties p = new Properties();
        p.setProperty("user", ComposeDeployment.USER);
        p.setProperty("password", deployment.env().get("PGPASSWORD"));
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + ComposeDeployment.DB, p);
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT id FROM orders")) {
            while (rs.next()) {
                got.add(rs.getLong(1));
            }
        }
        assertTrue(got.containsAll(java.util.stream.LongStream.rangeClosed(1, 500).boxed().toList()), "the rows before the base backup");
        Set<Long> missing = new TreeSet<>(mustHave);
        missing.removeAll(got);
        assertEquals(Set.of(), missing, "rows committed more than 2 s before the loss, lost (" + got.size() + " restored of "
                + (committed.size() + 500) + " committed); receiver: " + events);
    }

    private CliRun chrono(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--config");
        all.add(config.toString());
        return CliRun.run(deployment.env(), dir, all.toArray(String[]::new));
    }

    /** The receiver runs on this host, over the published port (--exec local, as wal-receive requires). */
    private void startReceiver() {
        stop = new WalReceiver.Stop();
        Target target = new TargetResolver(new Environment(deployment.env(), dir)).resolve(new ConnectionRequest(
                null, null, null, null, null, null, config.toString(), null, "local", null, null, null, null, false));
        WalReceiveRequest req = new WalReceiveRequest(target, dir.resolve("spool"), "chrono_dr", null, Duration.ofSeconds(1), false,
                Duration.ofSeconds(2));
        WalReceiver.Stop mine = stop;
        receiving = CompletableFuture.supplyAsync(() -> new WalReceiver(runner, new ToolLocator(runner, System.getenv()))
                .run(req, mine, events::add));
    }

    private static void giveToPostgres(Path dir) throws IOException {
        if (!"root".equals(System.getProperty("user.name"))) {
            return;
        }
        UserPrincipal u = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        try (var walk = Files.walk(dir)) {
            for (Path f : walk.toList()) {
                Files.setOwner(f, u);
            }
        }
    }

    private void waitFor(Duration timeout, java.util.function.BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what + " within " + timeout + "; receiver: " + events);
            assertTrue(receiving == null || !receiving.isDone(), "the receiver ended: " + events);
            Thread.sleep(200);
        }
    }
}
