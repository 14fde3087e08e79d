package dev.chronodr.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Secret;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * The compose and docker modes' argv and environment, checked directly (both compose
 * front ends), and the streaming path through a stand-in `docker` that executes the tool
 * locally, as the real one would in the container. Against a real engine:
 * dev.chronodr.containers.
 */
@PostgresTest
class PgToolsTest {
    private static final ConnectionSettings CONN = new ConnectionSettings("db.example", 5433, "app", "chrono", Secret.of("s3cret-pw"), "require");

    @TempDir
    Path dir;

    private PgTools tools(ExecSettings exec, ProcessRunner runner) {
        return new PgTools(exec, CONN, runner, new ToolLocator(runner, Map.of()), PgVersion.ofMajor(15));
    }

    @Test
    void composeArgvNamesEnvButNeverThePassword() {
        ExecSettings exec = new ExecSettings(ExecMode.COMPOSE, "postgres", Path.of("/srv/app/docker-compose.yml"), null, null, 5432, "docker");
        PgTools t = tools(exec, new ProcessRunner(Map.of(ComposeFrontEnd.ENV, "v2")));
        List<String> argv = t.argv(PgTool.PG_DUMP, List.of("-Fc", "app"));
        assertEquals(List.of("docker", "compose", "-f", "/srv/app/docker-compose.yml", "exec", "-T",
                "-e", "PGPASSWORD", "-e", "PGSSLMODE", "-e", "PGAPPNAME", "-e", "PGCONNECT_TIMEOUT",
                "postgres", "pg_dump", "-Fc", "app"), argv);
        assertEquals(List.of("-p", "5432", "-U", "chrono"), t.connectionArgs(), "inside the container: its socket and port");
        assertEquals("s3cret-pw", t.spec(PgTool.PG_DUMP, List.of()).env().get("PGPASSWORD"));
        assertFalse(String.join(" ", t.spec(PgTool.PG_DUMP, List.of()).argv()).contains("s3cret-pw"));
    }

    @Test
    void composeV1ArgvIsTheSameWordsAfterDockerCompose() {
        ExecSettings exec = new ExecSettings(ExecMode.COMPOSE, "postgres", Path.of("/srv/app/docker-compose.yml"), null, null, 5432, "docker");
        PgTools t = tools(exec, new ProcessRunner(Map.of(ComposeFrontEnd.ENV, "v1")));
        assertEquals(List.of("docker-compose", "-f", "/srv/app/docker-compose.yml", "exec", "-T",
                "-e", "PGPASSWORD", "-e", "PGSSLMODE", "-e", "PGAPPNAME", "-e", "PGCONNECT_TIMEOUT",
                "postgres", "pg_dump", "-Fc", "app"), t.argv(PgTool.PG_DUMP, List.of("-Fc", "app")));
        assertEquals(List.of("docker-compose", "-f", "/srv/app/docker-compose.yml", "exec", "-T", "postgres", "df", "-Pk", "/d"),
                t.inContainer(List.of("df", "-Pk", "/d")));
    }

    @Test
    void dockerArgv() {
        ExecSettings exec = new ExecSettings(ExecMode.DOCKER, null, null, "chrono_postgres", "localhost", 5432, "docker");
        PgTools t = tools(exec, new ProcessRunner(Map.of()));
        List<String> argv = t.argv(PgTool.PSQL, List.of("-c", "select 1"));
        assertEquals(List.of("docker", "exec", "-i", "-e", "PGPASSWORD", "-e", "PGSSLMODE", "-e", "PGAPPNAME", "-e", "PGCONNECT_TIMEOUT",
                "chrono_postgres", "psql", "-c", "select 1"), argv);
        assertEquals(List.of("-h", "localhost", "-p", "5432", "-U", "chrono"), t.connectionArgs());
    }

    @Test
    void localModeRefusesAClientOlderThanTheServer() {
        ProcessRunner runner = new ProcessRunner(System.getenv());
        PgTools t = new PgTools(ExecSettings.local(), CONN, runner, new ToolLocator(runner, System.getenv()), PgVersion.ofMajor(99));
        ChronoException e = org.junit.jupiter.api.Assertions.assertThrows(ChronoException.class, () -> t.argv(PgTool.PG_DUMP, List.of()));
        assertEquals(dev.chronodr.core.ExitCode.UNKNOWN, e.exitCode());
        assertTrue(e.getMessage().contains("cannot work with a PostgreSQL 99 server; install postgresql-client-99"), e.getMessage());
    }

    @Test
    void localModePicksTheMatchingMajor() {
        ProcessRunner runner = new ProcessRunner(System.getenv());
        ToolLocator.Located l = new ToolLocator(runner, System.getenv()).locate(PgTool.PG_RESTORE, PgVersion.ofMajor(12));
        assertTrue(l.usable());
        assertTrue(l.version().major() >= 12);
    }

    @Test
    void streamsADumpThroughAStandInDocker(PgCluster pg) throws Exception {
        pg.createDatabase("via_docker");
        pg.execute("via_docker", "CREATE TABLE t (id int); INSERT INTO t VALUES (42)");
        Path fake = dev.chronodr.testing.StandInDocker.write(dir, pg.binDir(), pg.port());
        ConnectionSettings conn = pg.connection("via_docker");
        ExecSettings exec = new ExecSettings(ExecMode.DOCKER, null, null, "db", "127.0.0.1", pg.port(), fake.toString());
        Map<String, String> env = new HashMap<>(System.getenv());
        env.remove("PGPASSWORD");
        ProcessRunner runner = new ProcessRunner(env);
        PgTools t = new PgTools(exec, conn, runner, new ToolLocator(runner, env), PgVersion.ofMajor(15));
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        List<String> args = new java.util.ArrayList<>(t.connectionArgs());
        args.addAll(List.of("-d", "via_docker", "--data-only", "-t", "t"));
        t.run(t.spec(PgTool.PG_DUMP, args).withTimeout(Duration.ofSeconds(60)).withStdout(in -> in.transferTo(sink)));
        String dump = sink.toString(StandardCharsets.UTF_8);
        assertTrue(dump.contains("COPY public.t (id) FROM stdin;\n42\n"), dump);
    }

    @Test
    void toolFailuresAreExplained(PgCluster pg) {
        ConnectionSettings wrong = new ConnectionSettings("127.0.0.1", pg.port(), "postgres", "postgres", Secret.of("nope-pw"), "disable");
        ProcessRunner runner = new ProcessRunner(System.getenv());
        PgTools t = new PgTools(ExecSettings.local(), wrong, runner, new ToolLocator(runner, System.getenv()), PgVersion.ofMajor(15));
        ChronoException e = org.junit.jupiter.api.Assertions.assertThrows(ChronoException.class,
                () -> t.run(t.spec(PgTool.PSQL, List.of("-h", "127.0.0.1", "-p", String.valueOf(pg.port()), "-U", "postgres", "-c", "select 1"))));
        assertEquals(dev.chronodr.core.ExitCode.CRITICAL, e.exitCode());
        assertTrue(e.getMessage().contains("password authentication failed"), e.getMessage());
        assertFalse(e.getMessage().contains("nope-pw"));
    }
}
