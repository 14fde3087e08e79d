package dev.chronodr.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Json;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.pg.TableDigest;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.repo.WalArchive;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.ServerLauncher;
import dev.chronodr.wal.ArchiveCommand;

/**
 * dr-test --pitr on one real cluster whose archive_command is the real wal-push (as in
 * restore/PitrTest): the drill passes while a writer keeps inserting, its numbers are the
 * live table's at the restore point (and not after it); a damaged archived segment between
 * the base backup and the point fails it with exit 2 naming the segment, and leaves no
 * scratch directory and no server behind, as Ctrl-C does while the copy runs; without a
 * base backup it is a usage error.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PitrDrillTest {
    private static final String DB = "ledger";
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final Secret password = Secret.of("pitr-drill-" + System.nanoTime());
    private Path tmp;
    private Path repo;
    private Path launcher;
    private Path config;
    private LocalCluster pg;
    private String freshBase;

    @BeforeAll
    void start() throws Exception {
        Optional<Path> bin = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(bin.isPresent(), "needs local PostgreSQL server binaries");
        tmp = Files.createTempDirectory("chrono-dr-pitr-drill-test-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        launcher = ServerLauncher.write(tmp);
        repo = Files.createDirectories(tmp.resolve("repo"));
        giveToPostgres(repo);
        pg = LocalCluster.create(tmp.resolve("pg"), bin.get(), password, LocalCluster.Options.defaults()
                .withSetting("archive_mode", "on")
                .withSetting("archive_command", "'" + ArchiveCommand.push(List.of(launcher.toString()), repo).replace("'", "''") + "'")
                .withSetting("wal_level", "replica"), runner);
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE accounts (id bigserial PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL);"
                + " CREATE SCHEMA audit; CREATE TABLE audit.entries (id int PRIMARY KEY, note text);"
                + " INSERT INTO accounts (owner, balance) SELECT 'owner ' || g, g * 1.5 FROM generate_series(1, 500) g;"
                + " INSERT INTO audit.entries SELECT g, md5(g::text) FROM generate_series(1, 200) g");
        config = Files.writeString(tmp.resolve("c.yaml"), """
                targets:
                  ledger:
                    host: 127.0.0.1
                    port: %d
                    dbname: %s
                    user: postgres
                    critical_tables: [accounts, audit.entries]
                    drill: {rto_minutes: 20, rpo_minutes: 10}
                """.formatted(pg.port(), DB));
    }

    @AfterAll
    void stop() {
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

    private Map<String, String> env() {
        return PgCluster.wrap(pg).env(DB);
    }

    private CliRun drill(Path repoDir, String... args) {
        List<String> all = new ArrayList<>(List.of("dr-test", "--pitr", "--config", config.toString(), "--target", "ledger",
                "--repo", repoDir.toString(), "--command", launcher.toString()));
        all.addAll(List.of(args));
        return CliRun.run(env(), tmp, all.toArray(String[]::new));
    }

    @Test
    @Order(1)
    void withoutABaseBackupItIsAUsageErrorThatSaysHowToTakeOne() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty-repo"));
        CliRun r = drill(empty);
        assertEquals(64, r.exitCode(), r::toString);
        assertEquals("", r.out(), "no report: nothing ran");
        assertEquals(1, r.err().strip().lines().filter(l -> !l.startsWith("hint:") && !l.startsWith("  ")).count(), r.err());
        assertTrue(r.err().contains("no physical base backup") && r.err().contains("--type physical"), r.err());
        try (var ls = Files.list(empty)) {
            assertEquals(List.of(), ls.toList(), "nothing written");
        }
    }

    @Test
    @Order(2)
    void theDrillPassesWhileAWriterRunsAndTheCopyHoldsExactlyTheRowsAtTheRestorePoint() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong written = new AtomicLong();
        List<Throwable> writerFailed = new ArrayList<>();
        Thread writer = new Thread(() -> {
            try (Connection c = Database.connect(pg.connection(DB)); Statement st = c.createStatement()) {
                while (!stop.get()) {
                    st.execute("INSERT INTO accounts (owner, balance) VALUES ('writer', 1)"); // one commit per row, one after another
                    written.incrementAndGet();
                    Thread.sleep(20);
                }
            } catch (Exception e) {
                writerFailed.add(e);
            }
        }, "pitr-drill-test-writer");
        writer.start();
        CliRun r;
        long afterDrill;
        try {
            r = drill(repo, "--fresh", "--format", "json");
            afterDrill = written.get();
            while (written.get() < afterDrill + 5 && writer.isAlive()) {
                Thread.sleep(20);
            }
        } finally {
            stop.set(true);
            writer.join(30_000);
        }
        assertEquals(List.of(), writerFailed, "the drill never broke a writer");
        assertEquals(0, r.exitCode(), r::toString);
        JsonNode j = r.json();
        assertTrue(j.path("passed").asBoolean());
        assertTrue(j.path("fresh_base").asBoolean());
        freshBase = j.path("base_backup").asText();
        assertFalse(freshBase.isEmpty());
        List<String> names = new ArrayList<>();
        for (JsonNode s : j.path("steps")) {
            names.add(s.path("name").asText());
            assertTrue(List.of("PASSED", "SKIPPED").contains(s.path("outcome").asText()), s::toString);
        }
        assertEquals(List.of("base-backup", "data-loss-window", "restore-point", "archive", "pitr-restore", "target", "digests", "integrity", "rto"),
                names);
        assertEquals("PASSED", j.at("/steps/6/outcome").asText(), j.at("/steps/6").toString());

        // The numbers: the RTO's figure is the restore step's time, and each table's copy equals its capture.
        long restoreMillis = j.at("/steps/4/millis").asLong();
        assertEquals(Math.max(1, Math.round(restoreMillis / 1000.0)), j.at("/rto/measured_seconds").asLong());
        assertEquals(1200, j.at("/rto/target_seconds").asLong(), "from the config's drill section");
        assertTrue(j.path("lock_millis").asLong() >= 0);
        String point = j.at("/restore_point/name").asText();
        assertTrue(point.startsWith("dr-test-pitr-"), point);
        assertTrue(j.at("/steps/5/message").asText().contains(point), "recovery stopped at the drill's point: " + j.at("/steps/5"));
        JsonNode accounts = null;
        for (JsonNode t : j.path("tables")) {
            assertTrue(t.path("identical").asBoolean(), t::toString);
            assertEquals(t.path("live_rows").asLong(), t.path("copy_rows").asLong());
            assertEquals(t.path("live_digest").asText(), t.path("copy_digest").asText());
            if (t.path("table").asText().equals("public.accounts")) {
                accounts = t;
            }
        }
        assertNotNull(accounts, j.path("tables")::toString);
        assertEquals(200, j.at("/tables/1/live_rows").asLong(), "audit.entries, untouched");

        // One writer, one row per commit, in order: the point holds ids 1..N exactly, and the rows after it are not in the copy.
        long n = accounts.path("copy_rows").asLong();
        assertTrue(n > 500, "the writer had committed rows before the point: " + n);
        try (Connection c = Database.connect(pg.connection(DB)); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT count(*), max(id) FROM accounts")) {
                rs.next();
                assertTrue(rs.getLong(1) > n, "rows were committed after the restore point: " + rs.getLong(1) + " > " + n);
                assertEquals(rs.getLong(1), rs.getLong(2), "ids without gaps");
            }
            st.execute("CREATE TEMP TABLE at_point AS SELECT * FROM accounts WHERE id <= " + n);
            c.setAutoCommit(false);
            TableDigest.pinSettings(c);
            TableDigest.Digest atPoint = TableDigest.like(c, "pg_temp", "at_point", accounts.path("live_digest").asText());
            assertEquals(n, atPoint.rows());
            assertEquals(atPoint.value(), accounts.path("copy_digest").asText(), "the copy held exactly the rows up to the point");
            c.rollback();
        }

        assertScratchGone(j);
        assertEquals(List.of(), records(), "the drill's record of its scratch cluster is removed with it");
    }

    @Test
    @Order(3)
    void ctrlCWhileTheCopyRunsStopsItAndRemovesItsDirectory() throws Exception {
        // the real launcher in a JVM of its own, as a user runs it; SIGINT once its copy's server runs
        Path log = tmp.resolve("sigint.log");
        ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "dr-test", "--pitr", "--config", config.toString(), "--target", "ledger",
                "--repo", repo.toString(), "--command", launcher.toString()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().clear();
        pb.environment().putAll(env());
        Process p = pb.start();
        try {
            PitrScratch.Record rec = null;
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (rec == null && System.nanoTime() < deadline && p.isAlive()) {
                Path recDir = repo.resolve(PitrScratch.AREA);
                if (Files.isDirectory(recDir)) {
                    try (var ls = Files.list(recDir)) {
                        for (Path f : ls.filter(x -> x.toString().endsWith(".json")).toList()) {
                            rec = Json.mapper().readValue(f.toFile(), PitrScratch.Record.class);
                        }
                    }
                }
                Thread.sleep(50);
            }
            assertNotNull(rec, () -> "the drill recorded its scratch cluster: " + read(log));
            Path pid = Path.of(rec.dir()).resolve("data/postmaster.pid");
            while (!Files.exists(pid) && System.nanoTime() < deadline && p.isAlive()) {
                Thread.sleep(50);
            }
            assertTrue(Files.exists(pid), () -> "the copy's server was started: " + read(log));
            // Started with SIGINT ignored (under nohup, or as a background job of a script), this JVM and its children
            // keep it ignored and a Ctrl-C cannot be simulated: SIGTERM then, which runs the same shutdown hooks.
            String signal = sigintIgnored() ? "-TERM" : "-INT";
            assertEquals(0, new ProcessBuilder("kill", signal, String.valueOf(p.pid())).start().waitFor());
            assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "the drill ends on SIGINT");
            assertTrue(p.exitValue() != 0, () -> "exit " + p.exitValue() + " after SIGINT: " + read(log));
            assertFalse(Files.exists(Path.of(rec.dir())), () -> "scratch directory removed on SIGINT: " + read(log));
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", rec.port()), 1000);
                throw new AssertionError("the copy still listens on port " + rec.port());
            } catch (IOException expected) {
                // the copy was stopped
            }
            assertEquals(List.of(), records(), "its record is removed with it");
        } finally {
            p.destroyForcibly();
        }
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    @Order(4)
    void aDamagedSegmentBetweenTheBaseBackupAndThePointFailsWithExit2NamingItAndLeavesNothing() throws Exception {
        String segment;
        try (Connection c = Database.connect(pg.connection(DB)); Statement st = c.createStatement()) {
            st.execute("INSERT INTO accounts (owner, balance) SELECT 'late', 2 FROM generate_series(1, 50)");
            try (ResultSet rs = st.executeQuery("SELECT pg_walfile_name(pg_current_wal_lsn())")) {
                rs.next();
                segment = rs.getString(1);
            }
            st.execute("SELECT pg_switch_wal()");
        }
        WalArchive archive = new WalArchive(repo);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!archive.contains(segment)) {
            assertTrue(System.nanoTime() < deadline, segment + " archived within 60 s");
            Thread.sleep(100);
        }
        Path stored = repo.resolve("wal").resolve(segment.substring(0, 8)).resolve(segment + ".zst");
        byte[] bytes = Files.readAllBytes(stored);
        for (int i = bytes.length / 3; i < bytes.length / 3 + 16; i++) {
            bytes[i] ^= 0x5A;
        }
        Files.write(stored, bytes);

        Path report = tmp.resolve("damaged.json");
        CliRun r = drill(repo, "--report", report.toString());
        assertEquals(2, r.exitCode(), r::toString);
        String first = r.out().lines().skip(1).findFirst().orElseThrow();
        assertTrue(first.contains("FAILED") && first.contains("pitr-restore") && first.contains("WAL segment " + segment + " is damaged"),
                "failing step first, naming the segment: " + r.out());
        JsonNode j = Json.mapper().readTree(report.toFile());
        assertEquals(freshBase, j.path("base_backup").asText(), "the newest good base backup, the drill's fresh one");
        assertFalse(j.path("passed").asBoolean());
        assertScratchGone(j);
        assertEquals(List.of(), records());
    }

    private void assertScratchGone(JsonNode j) {
        String dir = j.path("scratch_dir").asText();
        assertTrue(dir.contains("chrono-dr-pitr-drill-"), j::toString);
        assertFalse(Files.exists(Path.of(dir)), "scratch directory removed: " + dir);
        int port = j.path("port").asInt();
        assertTrue(port > 0, j::toString);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            throw new AssertionError("something still listens on the copy's port " + port);
        } catch (IOException expected) {
            // nothing listens: the copy is stopped
        }
        assertFalse(Files.exists(Path.of("/var/run/postgresql/.s.PGSQL." + port)), "no server socket left on port " + port);
    }

    private List<String> records() throws IOException {
        Path d = repo.resolve(PitrScratch.AREA);
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (var ls = Files.list(d)) {
            return ls.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json")).toList();
        }
    }

    private static void giveToPostgres(Path p) throws IOException {
        if (!"root".equals(System.getProperty("user.name"))) {
            return;
        }
        UserPrincipal u = p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        Files.setOwner(p, u);
    }

    /** Whether this process ignores SIGINT (bit 2 of SigIgn), as its children then do too. */
    static boolean sigintIgnored() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("SigIgn:"))
                .anyMatch(l -> (Long.parseLong(l.substring(7).strip(), 16) & 2) != 0);
    }
}
