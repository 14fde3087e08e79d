package dev.chronodr.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.chronodr.core.Environment;
import dev.chronodr.core.Secret;
import dev.chronodr.pg.Database;
import dev.chronodr.pg.ServerBinaries;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;

/**
 * A point-in-time restore whose server replays eight archived segments through the restore_command chrono-dr
 * writes: it reaches the end of the archive with every row, and most segments are handed over by the shell from
 * the resident prefetcher's spool, without a JVM (the launcher counts its starts).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SpooledRecoveryTest {
    private static final String DB = "shop";
    private static final int SEGMENTS = 8;
    private final ProcessRunner runner = new ProcessRunner(Map.copyOf(System.getenv()));
    private final Secret password = Secret.of("spool-" + System.nanoTime());
    private Path tmp;
    private Path repo;
    private Path launcher;
    private Path bin;
    private LocalCluster pg;
    private LocalCluster restored;

    @BeforeAll
    void start() throws Exception {
        Optional<Path> found = ServerBinaries.find(new Environment(System.getenv(), Path.of("").toAbsolutePath()));
        Assumptions.assumeTrue(found.isPresent(), "needs local PostgreSQL server binaries");
        bin = found.get();
        tmp = Files.createTempDirectory("chrono-dr-spooled-recovery-");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        launcher = dev.chronodr.testing.ServerLauncher.write(tmp);
        repo = Files.createDirectories(tmp.resolve("repo"));
        giveToPostgres(repo);
        pg = LocalCluster.create(tmp.resolve("pg"), bin, password, LocalCluster.Options.defaults()
                .withSetting("archive_mode", "on")
                .withSetting("archive_command", "'" + ArchiveCommand.push(List.of(launcher.toString()), repo).replace("'", "''") + "'")
                .withSetting("wal_level", "replica"), runner);
        pg.start();
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE orders (id serial PRIMARY KEY, batch int NOT NULL)");
        CliRun b = CliRun.run(env(), tmp, "backup", "--type", "physical", "--repo", repo.toString());
        assertEquals(0, b.exitCode(), b::toString);
    }

    @AfterAll
    void stop() {
        if (restored != null) {
            restored.remove();
        }
        if (pg != null) {
            pg.remove();
        }
        if (tmp != null) {
            dev.chronodr.repo.Repository.deleteQuietly(tmp);
        }
    }

    @Test
    void aRecoveryThroughTheShellHandOverReachesTheEndWithEveryRow() throws Exception {
        for (int i = 1; i <= SEGMENTS; i++) {
            pg.execute(DB, "INSERT INTO orders (batch) SELECT " + i + " FROM generate_series(1, 1000)");
            pg.execute(DB, "SELECT pg_switch_wal()");
        }
        String last = query(pg, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
        pg.execute(DB, "SELECT pg_switch_wal()");
        for (int i = 0; i < 1200 && query(pg, "postgres", "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").compareTo(last) < 0; i++) {
            Thread.sleep(100);
        }

        // the launcher the server runs, counting its starts in a file the postgres user may append to
        Path starts = Files.createDirectories(tmp.resolve("starts"));
        Files.setPosixFilePermissions(starts, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path counting = tmp.resolve("counting-chrono-dr");
        Files.writeString(counting, "#!/bin/sh\necho \"$*\" >> '" + starts.resolve("log") + "'\nexec '" + launcher + "' \"$@\"\n");
        Files.setPosixFilePermissions(counting, PosixFilePermissions.fromString("rwxr-xr-x"));

        Path base = Files.createDirectories(tmp.resolve("restored"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        Path data = base.resolve("data");
        int port = LocalCluster.freePort();
        CliRun r = CliRun.run(env(), tmp, "pitr", "restore", "--repo", repo.toString(), "--target-latest", "--data-dir", data.toString(),
                "--port", String.valueOf(port), "--command", counting.toString(), "--timeout", "300");
        restored = LocalCluster.open(base, bin, port, password, runner);
        assertEquals(0, r.exitCode(), r::toString);
        String conf = Files.readString(data.resolve("postgresql.auto.conf"));
        assertTrue(conf.contains("sha256sum") && conf.contains(FetchAhead.SPOOL_NAME), conf);

        assertEquals(String.valueOf(SEGMENTS * 1000), query(restored, DB, "SELECT count(*) FROM orders"));
        assertEquals(String.valueOf(SEGMENTS), query(restored, DB, "SELECT max(batch) FROM orders"));

        // the server asked for every segment from the base backup's to the last (and, at the end, the one after and
        // the last again, which the spool no longer has); the JVM handed over only a few of them
        List<String> asked = Files.readAllLines(starts.resolve("log")).stream()
                .filter(l -> l.startsWith("wal-fetch") && !l.contains("chrono-dr-fetch-check-"))
                .map(l -> l.split(" ")[l.split(" ").length - 2]).filter(n -> n.matches("[0-9A-F]{24}")).toList();
        String first = asked.get(0);
        long replayed = Long.parseLong(last.substring(16), 16) - Long.parseLong(first.substring(16), 16) + 1;
        List<String> byJvm = asked.stream().filter(n -> n.compareTo(last) <= 0).distinct().toList();
        assertTrue(replayed >= SEGMENTS && byJvm.size() <= replayed / 2, "most of the " + replayed + " segments were handed over by "
                + "the shell; wal-fetch ran for " + asked + "; prefetch.log: " + prefetchLog(data));
    }

    private static String prefetchLog(Path data) {
        try {
            return Files.readString(data.resolve(FetchAhead.SPOOL_NAME).resolve(FetchAhead.LOG));
        } catch (IOException e) {
            return e.toString();
        }
    }

    private String query(LocalCluster c, String db, String sql) throws Exception {
        try (Connection conn = Database.connect(c.connection(db)); Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private Map<String, String> env() {
        return dev.chronodr.testing.PgCluster.wrap(pg).env(DB);
    }

    private static void giveToPostgres(Path p) throws IOException {
        if (!"root".equals(System.getProperty("user.name"))) {
            return;
        }
        UserPrincipal u = p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        Files.setOwner(p, u);
    }
}
