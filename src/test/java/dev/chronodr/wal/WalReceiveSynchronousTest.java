package dev.chronodr.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.chronodr.config.ConnectionRequest;
import dev.chronodr.config.Target;
import dev.chronodr.config.TargetResolver;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.pg.ServiceUser;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
/**
 * wal-receive --synchronous on a real cluster whose synchronous_standby_names names it (set
 * by pitr setup --streaming --synchronous-standby --apply): after a crash,
 * {@code restore --point-in-time latest} brings back every row whose commit was acknowledged.
 */
class WalReceiveSynchronousTest {
    private static final String DB = "shop";
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final Secret password = Secret.of("walsync-" + System.nanoTime());
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private Path tmp;
    private LocalCluster pg;
    private LocalCluster restored;

    @AfterAll
    void cleanUp() {
        if (restored != null) {
            restored.remove();
        }
        if (pg != null) {
            pg.remove();
        }
        if (tmp != null) {
            try (var walk = Files.walk(tmp)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // temp files
            }
        }
    }

    @Test
    void everyAcknowledgedCommitIsRestoredAfterACrash() throws Exception {
        Optional<Path> found = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(found.isPresent(), "needs local PostgreSQL server binaries");
        Path bin = found.get();
        tmp = Files.createTempDirectory("chrono-dr-walsync-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        Path launcher = dev.chronodr.testing.ServerLauncher.write(tmp);
        Path repo = Files.createDirectories(tmp.resolve("repo"));
        pg = LocalCluster.create(tmp.resolve("pg"), bin, password, LocalCluster.Options.defaults()
                .withSetting("wal_level", "replica")
                .withSetting("archive_mode", "on")
                .withSetting("archive_command", "'/bin/true'")
                .withSetting("synchronous_commit", "on")
                .withSetting("autovacuum", "off"), runner);
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE orders (id bigint PRIMARY KEY)");
        Map<String, String> env = PgCluster.wrap(pg).env(DB);

        WalReceiver.Stop stop = new WalReceiver.Stop();
        Target target = new TargetResolver(new Environment(env, tmp)).resolve(new ConnectionRequest(
                null, null, null, null, null, null, null, null, null, null, null, null, repo.toString(), false));
        WalReceiveRequest req = new WalReceiveRequest(target, tmp.resolve("spool"), "chrono_dr", "chrono_dr", Duration.ofSeconds(1), true,
                Duration.ofSeconds(2));
        CompletableFuture<WalReceiveResult> receiving = CompletableFuture.supplyAsync(() ->
                new WalReceiver(runner, new ToolLocator(runner, System.getenv())).run(req, stop, events::add));
        Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
        try {
            waitFor(Duration.ofSeconds(30), () -> "t".equals(String.valueOf(PgCluster.wrap(pg).scalar(DB,
                    "SELECT coalesce((SELECT active FROM pg_replication_slots WHERE slot_name = 'chrono_dr'), false)")).substring(0, 1)),
                    "the receiver streams");
            CliRun setup = CliRun.run(env, tmp, "pitr", "setup", "--streaming", "--synchronous-standby", "chrono_dr", "--apply",
                    "--repo", repo.toString());
            assertEquals(0, setup.exitCode(), setup::toString);
            waitFor(Duration.ofSeconds(30), () -> "sync".equals(String.valueOf(PgCluster.wrap(pg).scalar(DB,
                    "SELECT coalesce((SELECT sync_state FROM pg_stat_replication WHERE application_name = 'chrono_dr'), '')"))),
                    "the receiver is the synchronous standby: " + events);
            CliRun backup = CliRun.run(env, tmp, "backup", "--type", "physical", "--repo", repo.toString());
            assertEquals(0, backup.exitCode(), backup::toString);

            AtomicBoolean writing = new AtomicBoolean(true);
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try (Connection c = Database.connect(pg.connection(DB)); Statement st = c.createStatement()) {
                    for (long id = 1; writing.get(); id++) {
                        st.execute("INSERT INTO orders (id) VALUES (" + id + ")");
                        acknowledged.add(id);
                    }
                } catch (Exception crashed) {
                    // the server went away
                }
            });
            Thread.sleep(4000);
            ServiceUser.run(runner, List.of(bin.resolve("pg_ctl").toString(), "-D", pg.dataDir().toString(), "-m", "immediate", "-w", "stop"),
                    null, Duration.ofSeconds(60));
            writing.set(false);
            writer.get(30, TimeUnit.SECONDS);
            Thread.sleep(2000);
            stop.request();
            receiving.get(30, TimeUnit.SECONDS);
        } finally {
            stop.request();
        }
        Set<Long> acknowledgedNow = new TreeSet<>();
        try (var walk = Files.walk(pg.dataDir())) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        UserPrincipal u = repo.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        if ("root".equals(System.getProperty("user.name"))) {
            try (var walk = Files.walk(repo.resolve("wal"))) {
                for (Path p : walk.toList()) {
                    Files.setOwner(p, u);
                }
            }
            Files.setPosixFilePermissions(repo, PosixFilePermissions.fromString("rwx--x--x"));
        }
        Path base = Files.createDirectories(tmp.resolve("restored"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        int port = LocalCluster.freePort();
        CliRun r = CliRun.run(env, tmp, "pitr", "restore", "--repo", repo.toString(), "--target-latest", "--data-dir",
                base.resolve("data").toString(), "--port", String.valueOf(port), "--command", launcher.toString(), "--timeout", "180");
        restored = LocalCluster.open(base, bin, port, password, runner);
        assertEquals(0, r.exitCode(), r::toString);
        Set<Long> got = new TreeSet<>();
        try (Connection c = Database.connect(restored.connection(DB)); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM orders")) {
            while (rs.next()) {
                got.add(rs.getLong(1));
            }
        }
        acknowledgedNow.addAll(acknowledged);
        assertTrue(acknowledgedNow.size() > 50, "commits were acknowledged: " + acknowledgedNow.size());
        Set<Long> missing = new TreeSet<>(acknowledgedNow);
        missing.removeAll(got);
        assertEquals(Set.of(), missing, "acknowledged commits lost (" + got.size() + " restored of " + acknowledgedNow.size() + ")");
    }

    private static void waitFor(Duration limit, BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + limit.toSeconds() + " s: " + what);
            }
            Thread.sleep(200);
        }
    }
}
