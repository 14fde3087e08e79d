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
import java.time.Instant;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;

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
import dev.chronodr.repo.WalArchive;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;

/**
 * wal-receive on a real cluster whose only WAL archiving is the receiver (archive_command
 * does nothing): a server restart, a receiver stopped and started again, a dropped slot,
 * and last a crash after which {@code restore --point-in-time latest} brings back the rows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WalReceiveTest {
    private static final String DB = "shop";
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final Secret password = Secret.of("walrecv-" + System.nanoTime());
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private Path tmp;
    private Path repo;
    private Path bin;
    private Path launcher;
    private LocalCluster pg;
    private LocalCluster restored;
    private WalReceiver.Stop stop;
    private CompletableFuture<WalReceiveResult> receiving;

    @BeforeAll
    void start() throws Exception {
        Optional<Path> found = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(found.isPresent(), "needs local PostgreSQL server binaries");
        bin = found.get();
        tmp = Files.createTempDirectory("chrono-dr-walrecv-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        launcher = dev.chronodr.testing.ServerLauncher.write(tmp);
        repo = Files.createDirectories(tmp.resolve("repo"));
        // archive_mode stays off: the receiver alone fills the archive, and the base backup accepts that
        pg = LocalCluster.create(tmp.resolve("pg"), bin, password, LocalCluster.Options.defaults()
                .withSetting("wal_level", "replica")
                .withSetting("max_wal_senders", "10")
                .withSetting("max_replication_slots", "10")
                .withSetting("max_slot_wal_keep_size", "'1GB'")
                .withSetting("synchronous_commit", "on") // a commit is acknowledged once flushed, as in production
                .withSetting("autovacuum", "off"), runner);
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE orders (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
    }

    @AfterAll
    void cleanUp() {
        if (stop != null) {
            stop.request();
        }
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
    @Order(0)
    void setupStreamingShowsAndSetsWhatTheReceiverNeeds() throws Exception {
        pg.execute(DB, "ALTER SYSTEM SET max_slot_wal_keep_size = -1");
        pg.execute(DB, "SELECT pg_reload_conf()");
        waitFor(Duration.ofSeconds(10), () -> "-1".equals(scalar("SELECT current_setting('max_slot_wal_keep_size')").toString()), "unlimited");
        CliRun shown = CliRun.run(PgCluster.wrap(pg).env(DB), tmp, "pitr", "setup", "--streaming", "--synchronous-standby", "chrono_dr",
                "--repo", repo.toString(), "--format", "json");
        assertEquals(0, shown.exitCode(), shown::toString);
        JsonNode keep = setting(shown.json(), "max_slot_wal_keep_size");
        assertEquals("4096MB", keep.path("wanted").asText());
        assertTrue(keep.path("change").asBoolean(), keep::toString);
        assertEquals("\"chrono_dr\"", setting(shown.json(), "synchronous_standby_names").path("wanted").asText());
        assertTrue(shown.json().path("notes").toString().contains("host  replication  postgres  127.0.0.1/32  scram-sha-256"), shown::toString);
        assertEquals("", scalar("SELECT current_setting('synchronous_standby_names')").toString(), "shown, not set");

        CliRun applied = CliRun.run(PgCluster.wrap(pg).env(DB), tmp, "pitr", "setup", "--streaming", "--max-slot-wal-keep", "2048",
                "--apply", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, applied.exitCode(), applied::toString);
        assertEquals("2GB", scalar("SELECT current_setting('max_slot_wal_keep_size')").toString());
        assertFalse(applied.json().path("restart_required").asBoolean(), "a reload is enough: " + applied);
    }

    private static JsonNode setting(JsonNode result, String name) {
        for (JsonNode s : result.path("settings")) {
            if (s.path("name").asText().equals(name)) {
                return s;
            }
        }
        throw new AssertionError("no setting " + name + " in " + result);
    }

    @Test
    @Order(1)
    void archivesCompletedSegmentsAndThePartialOneAndEmptiesTheSpool() throws Exception {
        // archive_mode off and nothing streaming: a base backup could never be restored, so none is taken
        CliRun refused = CliRun.run(PgCluster.wrap(pg).env(DB), tmp, "backup", "--type", "physical", "--repo", repo.toString());
        assertEquals(1, refused.exitCode(), refused::toString);
        assertTrue(refused.err().contains("no WAL receiver streams it") && refused.err().contains("wal-receive"), refused::toString);
        startReceiver();
        waitFor(Duration.ofSeconds(30), () -> slotActive("chrono_dr"), "the slot is active");
        pg.execute(DB, "INSERT INTO orders (id) VALUES (1)");
        String switched = switchWal();
        waitFor(Duration.ofSeconds(30), () -> archive().contains(switched), "segment " + switched + " archived");
        pg.execute(DB, "INSERT INTO orders (id) VALUES (3)"); // WAL in the new segment: pg_receivewal opens its .partial
        String current = currentSegment();
        waitFor(Duration.ofSeconds(30), () -> archive().contains(current + ".partial"), "the segment being received is stored as .partial: " + current + " " + events + " " + listSpool() + " " + archive().list());
        assertFalse(Files.exists(spool().resolve(switched)), "an archived segment leaves the spool");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(spool())));
        // wal-fetch hands the partial out under the segment's name
        Path dest = tmp.resolve("fetched");
        WalFetchResult f = WalService.fetch(repo, current, dest, null);
        assertTrue(f.found(), f::toString);
        assertEquals(16L << 20, Files.size(dest), "padded to a whole segment, as the server wants it");
        Files.delete(dest);
    }

    @Test
    @Order(2)
    void aServerRestartIsFollowedByAReconnect() throws Exception {
        pg.restart();
        pg.execute(DB, "INSERT INTO orders (id) VALUES (2)");
        String switched = switchWal();
        waitFor(Duration.ofSeconds(60), () -> archive().contains(switched), "segment " + switched + " archived after the restart");
        assertTrue(events.stream().anyMatch(e -> e.contains("reconnecting")), () -> String.join("\n", events));
        assertFalse(receiving.isDone(), "still running");
    }

    @Test
    @Order(3)
    void monitorSeesTheStreamCaughtUpAndThenItsInactiveSlot() throws Exception {
        pg.execute(DB, "INSERT INTO orders (id) VALUES (4)");
        String lsn = scalar("SELECT pg_current_wal_lsn()::text").toString();
        waitFor(Duration.ofSeconds(30), () -> {
            JsonNode c = walStream();
            return "OK".equals(c.path("status").asText()) && c.at("/items/0/archived_to").asText().contains(".partial");
        }, "wal_stream OK, measured to the stored partial segment: " + lsn);
        JsonNode ok = walStream();
        assertTrue(ok.at("/items/0/active").asBoolean(), ok::toString);
        assertTrue(ok.at("/items/0/lag_bytes").asLong() <= 8192, ok::toString);
        assertTrue(ok.at("/items/0/archived_to").asText().contains(".partial"), "measured to the stored partial segment: " + ok);

        stop.request();
        receiving.get(30, TimeUnit.SECONDS);
        waitFor(Duration.ofSeconds(10), () -> !slotActive("chrono_dr"), "the walsender is gone");
        CliRun r = CliRun.run(PgCluster.wrap(pg).env(DB), tmp, "monitor", "--check", "wal_stream", "--repo", repo.toString());
        assertEquals(2, r.exitCode(), r::toString);
        assertTrue(r.out().contains("slot chrono_dr is inactive"), r::toString);
    }

    private JsonNode walStream() {
        CliRun r = CliRun.run(PgCluster.wrap(pg).env(DB), tmp, "monitor", "--check", "wal_stream", "--repo", repo.toString(), "--format", "json");
        for (JsonNode c : r.json().get("checks")) {
            if (c.path("name").asText().equals("wal_stream")) {
                return c;
            }
        }
        throw new AssertionError("no wal_stream in " + r);
    }

    @Test
    @Order(4)
    void aReceiverStoppedAndStartedAgainLeavesNoGap() throws Exception {
        WalReceiveResult r = receiving.get(30, TimeUnit.SECONDS); // stopped by the test before
        assertTrue(r.segmentsArchived() >= 2, r::toString);
        // WAL written while nothing receives: the slot keeps it on the server
        List<String> whileDown = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            pg.execute(DB, "INSERT INTO orders (id) VALUES (" + (10 + i) + ")");
            whileDown.add(switchWal());
        }
        whileDown.forEach(s -> assertFalse(archive().contains(s), s + " is not archived while the receiver is down"));
        startReceiver();
        String last = whileDown.get(whileDown.size() - 1);
        waitFor(Duration.ofSeconds(60), () -> archive().contains(last), "the backlog is archived");
        assertContiguous();
    }

    @Test
    @Order(5)
    void aDroppedSlotEndsTheReceiverWithOneLine() throws Exception {
        Path otherRepo = Files.createDirectories(tmp.resolve("repo-doomed"));
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(PgCluster.wrap(pg).env(DB), tmp, "wal-receive",
                "--slot", "doomed", "--spool", tmp.resolve("spool-doomed").toString(), "--repo", otherRepo.toString()));
        waitFor(Duration.ofSeconds(30), () -> slotActive("doomed"), "the slot is created and active");
        waitFor(Duration.ofSeconds(30), () -> {
            pg.execute(DB, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'doomed' AND active");
            try {
                pg.execute(DB, "SELECT pg_drop_replication_slot('doomed')");
                return true;
            } catch (RuntimeException stillActive) {
                return false;
            }
        }, "the slot is dropped");
        CliRun r = run.get(60, TimeUnit.SECONDS);
        assertEquals(1, r.exitCode(), r::toString);
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("chrono-dr: replication slot doomed no longer exists")), r::toString);
        assertFalse(slotActive("doomed") || slotExists("doomed"), "the slot is not created again behind the user's back");
    }

    @Test
    @Order(5)
    void aSegmentArchivedWithOtherContentEndsTheReceiverAndItsPgReceivewal() throws Exception {
        Path otherRepo = Files.createDirectories(tmp.resolve("repo-clash"));
        String current = currentSegment();
        Path junk = Files.createDirectories(tmp.resolve("junk")).resolve(current);
        Files.write(junk, new byte[16 << 20]); // another cluster's segment of the same name
        WalService.push(otherRepo, junk);
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(PgCluster.wrap(pg).env(DB), tmp, "wal-receive",
                "--slot", "clash", "--spool", tmp.resolve("spool-clash").toString(), "--repo", otherRepo.toString()));
        try {
            waitFor(Duration.ofSeconds(30), () -> slotActive("clash"), "the receiver streams");
            pg.execute(DB, "INSERT INTO orders (id) VALUES (30)");
            switchWal();
            CliRun r = run.get(60, TimeUnit.SECONDS);
            assertEquals(1, r.exitCode(), r::toString);
            assertTrue(r.err().contains(current + " is already archived") && r.err().contains("different content"), r::toString);
            waitFor(Duration.ofSeconds(10), () -> !slotActive("clash"), "pg_receivewal is not left running");
            assertTrue(Files.exists(tmp.resolve("spool-clash").resolve(current)), "the segment stays in the spool");
        } finally {
            pg.execute(DB, "SELECT pg_drop_replication_slot('clash') FROM pg_replication_slots WHERE slot_name = 'clash' AND NOT active");
        }
    }

    @Test
    @Order(6)
    void sigtermStopsTheCommandCleanlyWithExitZero() throws Exception {
        // a JVM of its own, as systemd or docker runs it: the signal goes to that process only
        Path otherRepo = Files.createDirectories(tmp.resolve("repo-sigterm"));
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), "dev.chronodr.Main", "wal-receive", "--slot", "sigterm",
                "--spool", tmp.resolve("spool-sigterm").toString(), "--repo", otherRepo.toString());
        pb.environment().clear();
        pb.environment().putAll(PgCluster.wrap(pg).env(DB));
        pb.redirectOutput(tmp.resolve("sigterm.out").toFile()).redirectError(tmp.resolve("sigterm.err").toFile());
        Process p = pb.start();
        try {
            waitFor(Duration.ofSeconds(60), () -> slotActive("sigterm"), "the receiver streams");
            pg.execute(DB, "INSERT INTO orders (id) VALUES (20)");
            String switched = switchWal();
            waitFor(Duration.ofSeconds(30), () -> new WalArchive(otherRepo).contains(switched), "it archives");
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "it stops within 30 s");
            String out = Files.readString(tmp.resolve("sigterm.out"));
            assertEquals(0, p.exitValue(), () -> out + readQuietly(tmp.resolve("sigterm.err")));
            assertTrue(out.startsWith("wal-receive stopped:"), out);
            waitFor(Duration.ofSeconds(10), () -> !slotActive("sigterm"), "pg_receivewal is gone with it");
        } finally {
            p.destroyForcibly();
            pg.execute(DB, "SELECT pg_drop_replication_slot('sigterm')");
        }
    }

    private static String readQuietly(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Test
    @Order(7)
    void afterACrashRestoreLatestBringsBackEveryRowCommittedTwoSecondsBeforeIt() throws Exception {
        CliRun backup = CliRun.run(PgCluster.wrap(pg).env(DB), tmp, "backup", "--type", "physical", "--repo", repo.toString(), "--format", "json");
        assertEquals(0, backup.exitCode(), backup::toString);

        Map<Long, Instant> committed = new ConcurrentHashMap<>();
        AtomicBoolean writing = new AtomicBoolean(true);
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try (Connection c = Database.connect(pg.connection(DB)); Statement st = c.createStatement()) {
                for (long id = 1000; writing.get(); id++) {
                    st.execute("INSERT INTO orders (id) VALUES (" + id + ")");
                    committed.put(id, Instant.now());
                    Thread.sleep(10);
                }
            } catch (Exception crashed) {
                // the server went away
            }
        });
        Thread.sleep(6000);
        Instant crash = Instant.now();
        ServiceUser.run(runner, List.of(bin.resolve("pg_ctl").toString(), "-D", pg.dataDir().toString(), "-m", "immediate", "-w", "stop"),
                null, Duration.ofSeconds(60));
        writing.set(false);
        writer.get(30, TimeUnit.SECONDS);
        Thread.sleep(2000); // more than the 1 s between stores of the partial segment
        stop.request();
        receiving.get(30, TimeUnit.SECONDS);
        deleteTree(pg.dataDir());

        Set<Long> mustHave = new TreeSet<>();
        committed.forEach((id, at) -> {
            if (at.isBefore(crash.minusSeconds(2))) {
                mustHave.add(id);
            }
        });
        assertTrue(mustHave.size() > 100, "rows were committed before the crash: " + mustHave.size());

        Path base = Files.createDirectories(tmp.resolve("restored"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        int port = LocalCluster.freePort();
        if ("root".equals(System.getProperty("user.name"))) {
            // the receiver ran as root: its files are root's, 0600, and the recovering server's restore_command runs as
            // postgres; recovery would take each failed fetch for the end of the WAL and promote with the base backup's alone
            CliRun refused = CliRun.run(PgCluster.wrap(pg).env(DB), tmp, "restore", "--repo", repo.toString(), "--point-in-time", "latest",
                    "--data-dir", base.resolve("data").toString(), "-p", String.valueOf(port), "--command", launcher.toString(), "--timeout", "180");
            assertEquals(1, refused.exitCode(), refused::toString);
            assertTrue(refused.err().contains("restore_command cannot fetch WAL as OS user postgres"), refused::toString);
            assertTrue(refused.err().contains("nothing was written"), refused::toString);
            assertFalse(Files.exists(base.resolve("data")), "refused before anything was written");
        }
        giveToPostgres(repo.resolve("wal")); // the recovering server's restore_command reads the archive as postgres
        CliRun r = CliRun.run(PgCluster.wrap(pg).env(DB), tmp, "restore", "--repo", repo.toString(), "--point-in-time", "latest",
                "--data-dir", base.resolve("data").toString(), "-p", String.valueOf(port), "--command", launcher.toString(),
                "--timeout", "180", "--format", "json");
        restored = LocalCluster.open(base, bin, port, password, runner);
        assertEquals(0, r.exitCode(), r::toString);
        Set<Long> got = new TreeSet<>();
        try (Connection c = Database.connect(restored.connection(DB)); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM orders WHERE id >= 1000")) {
            while (rs.next()) {
                got.add(rs.getLong(1));
            }
        }
        Set<Long> missing = new TreeSet<>(mustHave);
        missing.removeAll(got);
        assertEquals(Set.of(), missing, "rows committed more than 2 s before the crash, lost (" + got.size() + " restored of "
                + committed.size() + " committed)");
    }

    private void startReceiver() {
        stop = new WalReceiver.Stop();
        Target target = new TargetResolver(new Environment(PgCluster.wrap(pg).env(DB), tmp)).resolve(new ConnectionRequest(
                null, null, null, null, null, null, null, null, null, null, null, null, repo.toString(), false));
        WalReceiveRequest req = new WalReceiveRequest(target, spool(), "chrono_dr", null, Duration.ofSeconds(1), false, Duration.ofSeconds(2));
        WalReceiver.Stop mine = stop;
        receiving = CompletableFuture.supplyAsync(() -> new WalReceiver(runner, new ToolLocator(runner, System.getenv()))
                .run(req, mine, events::add));
    }

    private String listSpool() {
        try (var ls = Files.list(spool())) {
            return ls.map(p -> p.getFileName().toString()).toList().toString();
        } catch (IOException e) {
            return e.toString();
        }
    }

    private Path spool() {
        return tmp.resolve("spool");
    }

    private WalArchive archive() {
        return new WalArchive(repo);
    }

    /** Segments archived on timeline 1, from the first to the last, with none missing in between. */
    private void assertContiguous() {
        List<String> names = archive().list().stream().filter(WalArchive.Entry::isSegment).map(WalArchive.Entry::name).toList();
        assertTrue(names.size() >= 5, names::toString);
        for (int i = 1; i < names.size(); i++) {
            assertEquals(Long.parseLong(names.get(i - 1).substring(16), 16) + 1, Long.parseLong(names.get(i).substring(16), 16),
                    "no gap between " + names.get(i - 1) + " and " + names.get(i) + ": " + names);
        }
    }

    private String switchWal() {
        return scalar("SELECT pg_walfile_name(pg_switch_wal())").toString();
    }

    private String currentSegment() {
        return scalar("SELECT pg_walfile_name(pg_current_wal_insert_lsn())").toString();
    }

    private boolean slotActive(String slot) {
        return Boolean.TRUE.equals(scalar("SELECT coalesce((SELECT active FROM pg_replication_slots WHERE slot_name = '" + slot + "'), false)"));
    }

    private boolean slotExists(String slot) {
        return Boolean.TRUE.equals(scalar("SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + slot + "')"));
    }

    private Object scalar(String sql) {
        return PgCluster.wrap(pg).scalar(DB, sql);
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

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        assertFalse(Files.exists(dir));
    }

    private static void giveToPostgres(Path dir) throws IOException {
        if (!"root".equals(System.getProperty("user.name"))) {
            return;
        }
        UserPrincipal u = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.toList()) {
                Files.setOwner(p, u);
            }
        }
        Files.setPosixFilePermissions(dir.getParent(), PosixFilePermissions.fromString("rwx--x--x"));
    }
}
