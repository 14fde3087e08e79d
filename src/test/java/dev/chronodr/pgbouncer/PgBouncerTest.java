package dev.chronodr.pgbouncer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.config.ConnectionRequest;
import dev.chronodr.config.Target;
import dev.chronodr.config.TargetResolver;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Progress;
import dev.chronodr.pg.ToolLocator;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.restore.RestoreRequest;
import dev.chronodr.restore.RestoreService;
import dev.chronodr.restore.RestoreSource;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * Debian's real PgBouncer 1.18 in front of a throwaway cluster, on the files
 * {@code chrono-dr pgbouncer config} wrote: clients connect through it with SCRAM, the monitor
 * check sees waiting clients, and a restore pauses it around the swap while a client keeps querying.
 */
@PostgresTest
class PgBouncerTest {
    static final String DB = "shop";
    static final String APP_PASSWORD = "app-Pw-1";
    /** A quote, a space and a multi-byte character: userlist.txt must quote it as PgBouncer reads it. */
    static final String ODD_ROLE = "we\"ird n€me";
    static final String ODD_PASSWORD = "odd-Pw-2";
    static final String ADMIN_PASSWORD = "admin-Pw-3";
    static final String AUTH_PASSWORD = "auth-Pw-4";

    static Path work;
    static Path bouncerDir;
    static Path authDir;
    static Path config;
    static int port;
    static PgBouncerServer bouncer;
    static CliRun generated;

    private final PgCluster pg;

    PgBouncerTest(PgCluster pg) {
        this.pg = pg;
    }

    @BeforeAll
    static void start(PgCluster pg, @TempDir Path dir) throws Exception {
        PgBouncerServer.assumeInstalled();
        work = dir;
        pg.execute("postgres", "CREATE ROLE app LOGIN PASSWORD '" + APP_PASSWORD + "'");
        pg.execute("postgres", "CREATE ROLE \"we\"\"ird n€me\" LOGIN PASSWORD '" + ODD_PASSWORD + "'");
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)");
        pg.execute(DB, "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g");
        pg.execute(DB, "GRANT SELECT, INSERT ON items TO app, \"we\"\"ird n€me\"");
        bouncerDir = Files.createTempDirectory("chrono-dr-pgbouncer-");
        port = PgBouncerServer.freePort();
        Path adminPw = dir.resolve("admin.password");
        Files.writeString(adminPw, ADMIN_PASSWORD + "\n");
        Files.setPosixFilePermissions(adminPw, PosixFilePermissions.fromString("rw-------"));
        authDir = Files.createTempDirectory("chrono-dr-pgbouncer-auth-");
        Path authPw = dir.resolve("auth.password");
        Files.writeString(authPw, AUTH_PASSWORD + "\n");
        Files.setPosixFilePermissions(authPw, PosixFilePermissions.fromString("rw-------"));
        config = dir.resolve("chrono-dr.yaml");
        Files.writeString(config, """
                targets:
                  shop:
                    host: 127.0.0.1
                    port: %1$d
                    dbname: shop
                    user: %2$s
                    repo: %3$s
                    pgbouncer: &bouncer
                      host: 127.0.0.1
                      listen_addr: 127.0.0.1
                      listen_port: %4$d
                      unix_socket_dir: ""
                      default_pool_size: 1
                      users: [app, 'we"ird n€me']
                      admin_user: chrono_admin
                      admin_password_file: %5$s
                      auth_file: %6$s
                      pause_on_restore: true
                      pause_timeout_seconds: 3
                      connect_timeout_seconds: 2
                  authq:
                    host: 127.0.0.1
                    port: %1$d
                    dbname: shop
                    user: app
                    repo: %3$s
                    pgbouncer:
                      host: 127.0.0.1
                      listen_addr: 127.0.0.1
                      listen_port: %8$d
                      unix_socket_dir: ""
                      auth_file: %9$s
                      auth_password_file: %10$s
                  down:
                    host: 127.0.0.1
                    port: %1$d
                    dbname: shop
                    user: %2$s
                    repo: %3$s
                    pgbouncer:
                      host: 127.0.0.1
                      listen_port: %7$d
                      admin_user: chrono_admin
                      admin_password_file: %5$s
                      connect_timeout_seconds: 2
                """.formatted(pg.port(), pg.superuser(), dir.resolve("repo"), port, adminPw,
                bouncerDir.resolve("userlist.txt"), PgBouncerServer.freePort(), PgBouncerServer.freePort(),
                authDir.resolve("userlist.txt"), authPw));
        generated = CliRun.run(pg.env(DB), dir, "pgbouncer", "config", "--config", config.toString(), "--target", "shop",
                "--out", bouncerDir.toString());
        assertEquals(0, generated.exitCode(), generated.toString());
        bouncer = PgBouncerServer.start(bouncerDir, bouncerDir.resolve("pgbouncer.ini"), port);
    }

    @AfterAll
    static void stop() throws Exception {
        if (bouncer != null) {
            bouncer.stop();
        }
        for (Path d : new Path[] {bouncerDir, authDir}) {
            if (d != null) {
                try (var files = Files.walk(d)) {
                    files.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    static Connection through(String user, String password) throws SQLException {
        return through(port, user, password);
    }

    static Connection through(int port, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("sslmode", "disable");
        p.setProperty("prepareThreshold", "0"); // transaction pooling: no server-side prepared statements
        p.setProperty("connectTimeout", "5");
        p.setProperty("socketTimeout", "60");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + DB, p);
    }

    static Object scalar(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getObject(1);
        }
    }

    private CliRun chrono(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--config", config.toString()));
        return CliRun.run(pg.env(DB), work, all.toArray(String[]::new));
    }

    @Test
    void generatedFilesLetScramUsersConnectThroughPgBouncer() throws Exception {
        resetItems();
        Path ini = bouncerDir.resolve("pgbouncer.ini");
        Path list = bouncerDir.resolve("userlist.txt");
        for (Path p : List.of(ini, list)) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
            assertTrue(Files.readAllLines(p).get(0).contains(PgBouncerFiles.MARK), p.toString());
        }
        String users = Files.readString(list);
        assertTrue(users.contains("\"we\"\"ird n€me\" \"SCRAM-SHA-256$4096:"), users);
        assertTrue(users.contains("\"app\" \"SCRAM-SHA-256$"), users);
        assertTrue(users.contains("\"chrono_admin\" \"SCRAM-SHA-256$"), users);
        for (String secret : List.of(APP_PASSWORD, ODD_PASSWORD, ADMIN_PASSWORD)) {
            assertFalse(users.contains(secret), "a password in userlist.txt");
        }
        String iniText = Files.readString(ini);
        assertTrue(iniText.contains("pool_mode = transaction") && iniText.contains("max_client_conn = 200")
                && iniText.contains("auth_type = scram-sha-256") && iniText.contains("admin_users = chrono_admin"), iniText);

        try (Connection app = through("app", APP_PASSWORD)) {
            assertEquals(100L, scalar(app, "SELECT count(*) FROM items"));
        }
        try (Connection odd = through(ODD_ROLE, ODD_PASSWORD)) {
            assertEquals(ODD_ROLE, scalar(odd, "SELECT current_user"));
        }
        assertThrows(SQLException.class, () -> through("app", "wrong").close(), "a wrong password gets in");

        // Run again over its own files: fine. Over a file chrono-dr did not write: refused, the file kept; --force replaces it.
        Path other = work.resolve("other");
        Files.createDirectories(other);
        Files.writeString(other.resolve("pgbouncer.ini"), "[databases]\nmine = host=elsewhere\n");
        CliRun refused = chrono("pgbouncer", "config", "--target", "shop", "--out", other.toString());
        assertEquals(64, refused.exitCode(), refused.toString());
        assertEquals("[databases]\nmine = host=elsewhere\n", Files.readString(other.resolve("pgbouncer.ini")));
        assertFalse(Files.exists(other.resolve("userlist.txt")), "a refusal writes nothing");
        CliRun forced = chrono("pgbouncer", "config", "--target", "shop", "--out", other.toString(), "--force", "--format", "json");
        assertEquals(0, forced.exitCode(), forced.toString());
        assertTrue(Files.readString(other.resolve("pgbouncer.ini")).contains(PgBouncerFiles.MARK));
        assertEquals(0, chrono("pgbouncer", "config", "--target", "shop", "--out", other.toString()).exitCode());

        // Not a superuser: pg_authid is out of reach; say so and offer --auth-query, which needs none.
        Map<String, String> asApp = new java.util.LinkedHashMap<>(pg.env(DB));
        asApp.put("PGUSER", "app");
        asApp.put("PGPASSWORD", APP_PASSWORD);
        Path third = work.resolve("third");
        CliRun denied = CliRun.run(asApp, work, "pgbouncer", "config", "--config", config.toString(), "--target", "shop",
                "-U", "app", "--out", third.toString());
        assertEquals(1, denied.exitCode(), denied.toString());
        assertTrue(denied.err().contains("superuser") && denied.err().contains("--auth-query"), denied.toString());
        assertFalse(Files.exists(third.resolve("userlist.txt")));
        CliRun auth = CliRun.run(asApp, work, "pgbouncer", "config", "--config", config.toString(), "--target", "shop",
                "-U", "app", "--out", third.toString(), "--auth-query", "--format", "json");
        assertEquals(0, auth.exitCode(), auth.toString());
        assertTrue(auth.json().get("auth_query_sql").asText().contains("SECURITY DEFINER"), auth.out());
        assertTrue(Files.readString(third.resolve("pgbouncer.ini")).contains("auth_query = SELECT usename, passwd FROM pgbouncer.get_auth($1)"));
        assertFalse(Files.readString(third.resolve("userlist.txt")).contains("\"app\""), "auth_query lists no user");
    }

    @Test
    void authQueryLetsUsersInThroughTheFunctionItPrints() throws Exception {
        resetItems();
        Map<String, String> asApp = new java.util.LinkedHashMap<>(pg.env(DB));
        asApp.put("PGUSER", "app");
        asApp.put("PGPASSWORD", APP_PASSWORD);
        CliRun r = CliRun.run(asApp, work, "pgbouncer", "config", "--config", config.toString(), "--target", "authq",
                "--out", authDir.toString(), "--auth-query", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        String list = Files.readString(authDir.resolve("userlist.txt"));
        assertTrue(list.contains("\"pgbouncer_auth\" \"" + AUTH_PASSWORD + "\""), list);
        assertFalse(list.contains("\"app\""), list);
        // The SQL as printed, run by a superuser: the role, the SECURITY DEFINER function, the grants.
        pg.execute(DB, r.json().get("auth_query_sql").asText());
        pg.execute(DB, "ALTER ROLE pgbouncer_auth PASSWORD '" + AUTH_PASSWORD + "'");
        int authPort = portOf(authDir.resolve("pgbouncer.ini"));
        PgBouncerServer second = PgBouncerServer.start(authDir, authDir.resolve("pgbouncer.ini"), authPort);
        try {
            try (Connection app = through(authPort, "app", APP_PASSWORD)) {
                assertEquals(100L, scalar(app, "SELECT count(*) FROM items"));
            }
            try (Connection odd = through(authPort, ODD_ROLE, ODD_PASSWORD)) {
                assertEquals(ODD_ROLE, scalar(odd, "SELECT current_user"));
            }
            assertThrows(SQLException.class, () -> through(authPort, "app", "wrong").close(), "a wrong password gets in");
        } finally {
            second.stop();
        }
        // PUBLIC cannot read verifiers through the function.
        assertThrows(RuntimeException.class, () -> pg.execute(DB, "SET ROLE app; SELECT * FROM pgbouncer.get_auth('postgres')"));
    }

    static int portOf(Path ini) throws java.io.IOException {
        for (String line : Files.readAllLines(ini)) {
            if (line.startsWith("listen_port = ")) {
                return Integer.parseInt(line.substring("listen_port = ".length()).strip());
            }
        }
        throw new AssertionError("no listen_port in " + ini);
    }

    static JsonNode check(CliRun run) {
        for (JsonNode c : run.json().get("checks")) {
            if (c.get("name").asText().equals("pgbouncer")) {
                return c;
            }
        }
        throw new AssertionError("no pgbouncer check in " + run);
    }

    static double metric(JsonNode check, String name) {
        for (JsonNode m : check.get("metrics")) {
            if (m.get("name").asText().equals(name) && (m.get("labels") == null || m.get("labels").isEmpty())) {
                return m.get("value").asDouble();
            }
        }
        throw new AssertionError("no metric " + name + " in " + check);
    }

    @Test
    void monitorSeesClientsWaitingForTheOnePoolConnection() throws Exception {
        resetItems();
        CliRun quiet = chrono("monitor", "--target", "shop", "--check", "pgbouncer", "--format", "json");
        assertEquals(0, quiet.exitCode(), quiet.toString());
        assertEquals("OK", check(quiet).get("status").asText());

        CompletableFuture<Object> waiter;
        try (Connection holder = through("app", APP_PASSWORD)) {
            holder.setAutoCommit(false);
            scalar(holder, "SELECT count(*) FROM items"); // holds the pool's one server connection until commit
            waiter = CompletableFuture.supplyAsync(() -> {
                try (Connection c = through("app", APP_PASSWORD)) {
                    return scalar(c, "SELECT count(*) FROM items");
                } catch (SQLException e) {
                    return e;
                }
            });
            Thread.sleep(2500);
            CliRun busy = chrono("monitor", "--target", "shop", "--check", "pgbouncer", "--format", "json",
                    "--critical", "pgbouncer_maxwait=2s");
            JsonNode c = check(busy);
            assertEquals(2, busy.exitCode(), busy.toString());
            assertEquals("CRITICAL", c.get("status").asText(), c.toString());
            assertEquals(1.0, metric(c, "pgbouncer_waiting"), c.toString());
            assertTrue(metric(c, "pgbouncer_maxwait") >= 2.0, c.toString());
            assertEquals(100.0, metric(c, "pgbouncer_saturation"), c.toString());
            assertTrue(c.get("message").asText().contains("waiting"), c.toString());
            CliRun nagios = chrono("monitor", "--target", "shop", "--check", "pgbouncer", "--format", "nagios");
            assertTrue(nagios.out().contains("pgbouncer_waiting=1"), nagios.out());
            CliRun prom = chrono("monitor", "--target", "shop", "--check", "pgbouncer", "--format", "prometheus");
            assertTrue(prom.out().contains("pgbouncer_pool_waiting"), prom.out());
            holder.commit();
        }
        assertEquals(100L, waiter.get(10, TimeUnit.SECONDS), "the waiting client got its answer");
        CliRun released = chrono("monitor", "--target", "shop", "--check", "pgbouncer", "--format", "json");
        assertEquals(0, released.exitCode(), released.toString());
        assertEquals(0.0, metric(check(released), "pgbouncer_waiting"));

        // Nothing listening: CRITICAL, at once, as a database that is down.
        long t = System.nanoTime();
        CliRun down = chrono("monitor", "--target", "down", "--check", "pgbouncer", "--format", "json");
        assertEquals(2, down.exitCode(), down.toString());
        assertEquals("CRITICAL", check(down).get("status").asText());
        assertTrue(System.nanoTime() - t < TimeUnit.SECONDS.toNanos(20), "an unreachable PgBouncer hangs the monitor");
    }

    /** A client querying through PgBouncer in a loop: what it saw, and any error. */
    static final class LoopingClient implements AutoCloseable {
        final AtomicBoolean running = new AtomicBoolean(true);
        final AtomicLong queries = new AtomicLong();
        final AtomicLong last = new AtomicLong(-1);
        final List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<Void> loop;

        LoopingClient() throws SQLException {
            Connection c = through("app", APP_PASSWORD);
            loop = CompletableFuture.runAsync(() -> {
                try (c) {
                    while (running.get()) {
                        last.set((Long) scalar(c, "SELECT count(*) FROM items"));
                        queries.incrementAndGet();
                        Thread.sleep(10);
                    }
                } catch (Exception e) {
                    errors.add(e);
                }
            });
        }

        void awaitQueries(long atLeast) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (queries.get() < atLeast && errors.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        }

        @Override
        public void close() throws Exception {
            running.set(false);
            loop.get(30, TimeUnit.SECONDS);
        }
    }

    private void resetItems() {
        pg.execute(DB, "DELETE FROM items; INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g");
    }

    private void backupThenAddRows() {
        CliRun b = chrono("backup", "--target", "shop");
        assertEquals(0, b.exitCode(), b.toString());
        pg.execute(DB, "DELETE FROM items WHERE id > 50");
        pg.execute(DB, "INSERT INTO items SELECT g, 'new ' || g FROM generate_series(1001, 1010) g");
    }

    private long liveCount() {
        return ((Number) pg.scalar(DB, "SELECT count(*) FROM items")).longValue();
    }

    @Test
    void restorePausesPgBouncerWhileAClientKeepsQuerying() throws Exception {
        resetItems();
        backupThenAddRows();
        assertEquals(60L, liveCount());
        CliRun restore;
        try (LoopingClient client = new LoopingClient()) {
            client.awaitQueries(5);
            assertEquals(60L, client.last.get());
            restore = chrono("restore", "--target", "shop", "--latest", "--yes", "--format", "json");
            long after = client.queries.get();
            client.awaitQueries(after + 5);
            assertTrue(client.errors.isEmpty(), "the client saw an error: " + client.errors);
            assertEquals(100L, client.last.get(), "the client reads the restored data through the same connection");
        }
        assertEquals(0, restore.exitCode(), restore.toString());
        String notes = restore.json().get("notes").toString();
        assertTrue(notes.contains("paused PgBouncer database shop") && notes.contains("resumed PgBouncer database shop"), notes);
        assertEquals(100L, liveCount());
    }

    @Test
    void aPauseThatCannotFinishOrASwapThatFailsStillResumes() throws Exception {
        resetItems();
        backupThenAddRows();
        // A transaction held open through PgBouncer keeps PAUSE waiting past its deadline (3 s).
        try (Connection holder = through("app", APP_PASSWORD)) {
            holder.setAutoCommit(false);
            scalar(holder, "SELECT count(*) FROM items");
            long t = System.nanoTime();
            CliRun r = chrono("restore", "--target", "shop", "--latest", "--yes");
            assertEquals(1, r.exitCode(), r.toString());
            assertTrue(r.err().contains("could not pause shop") && r.err().contains("resumed it")
                    && r.err().contains("live database was not touched"), r.toString());
            assertTrue(System.nanoTime() - t < TimeUnit.SECONDS.toNanos(60));
            holder.commit();
        }
        assertEquals(60L, liveCount(), "live database untouched");
        try (Connection app = through("app", APP_PASSWORD)) {
            app.setNetworkTimeout(Runnable::run, 10_000);
            assertEquals(60L, scalar(app, "SELECT count(*) FROM items"), "PgBouncer answers: it was resumed");
        }
        dropLeftovers();

        // PAUSE done, then the swap fails: RESUME all the same.
        ProcessRunner runner = new ProcessRunner(pg.env(DB));
        RestoreService service = new RestoreService(runner, new ToolLocator(runner, pg.env(DB)), Progress.NONE, "test");
        var hook = RestoreService.class.getDeclaredMethod("betweenRenames", Runnable.class);
        hook.setAccessible(true);
        hook.invoke(service, (Runnable) () -> {
            throw new IllegalStateException("injected failure between the renames");
        });
        Target target = new TargetResolver(new Environment(pg.env(DB), work)).resolve(new ConnectionRequest(
                null, null, null, null, null, null, config.toString(), "shop", null, null, null, null, null, false));
        RestoreRequest latest = new RestoreRequest(null, null, null, 1, true, false);
        RestoreSource source = service.resolve(target, latest);
        try (LoopingClient client = new LoopingClient()) {
            client.awaitQueries(3);
            assertThrows(IllegalStateException.class, () -> service.restore(target, latest, source));
            long after = client.queries.get();
            client.awaitQueries(after + 3);
            assertTrue(client.queries.get() >= after + 3, "the client is still held: PgBouncer was not resumed");
            assertTrue(client.errors.isEmpty(), "the client saw an error: " + client.errors);
            assertEquals(60L, client.last.get());
        }
        assertEquals(60L, liveCount(), "live database untouched");
        dropLeftovers();
    }

    private void dropLeftovers() {
        for (Map<String, Object> row : pg.query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'shop\\_%'")) {
            pg.execute("postgres", "DROP DATABASE \"" + row.get("datname") + "\"");
        }
    }
}
