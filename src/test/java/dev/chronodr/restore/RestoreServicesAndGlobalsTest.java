package dev.chronodr.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.pg.ComposeFrontEnd;
import dev.chronodr.pg.ExecMode;
import dev.chronodr.pg.ExecSettings;
import dev.chronodr.process.ProcessRunner;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/** The applications around a replace, and the roles a new server needs first. */
@PostgresTest
class RestoreServicesAndGlobalsTest {
    @TempDir
    Path dir;

    @Test
    void composeStopsThenStartsInOrderWithDelays() {
        ApplicationServices.Config c = new ApplicationServices.Config();
        c.stop = List.of("backend", "celery_worker", "frontend");
        ApplicationServices.Start backend = new ApplicationServices.Start();
        backend.name = "backend";
        ApplicationServices.Start worker = new ApplicationServices.Start();
        worker.name = "celery_worker";
        worker.delay_seconds = 1;
        c.start = List.of(backend, worker);
        Path log = dir.resolve("docker.log");
        Path fake = fakeDocker(log);
        ExecSettings exec = new ExecSettings(ExecMode.COMPOSE, "postgres", Path.of("/srv/dc.yml"), null, null, 5432, fake.toString());
        Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.put(ComposeFrontEnd.ENV, "v2");
        ApplicationServices s = new ApplicationServices(c, exec, new ProcessRunner(env));
        long t0 = System.nanoTime();
        s.stop();
        s.start();
        assertTrue(System.nanoTime() - t0 >= 1_000_000_000L, "the delay was kept");
        assertEquals(List.of("compose -f /srv/dc.yml stop backend celery_worker frontend",
                "compose -f /srv/dc.yml up -d backend", "compose -f /srv/dc.yml up -d celery_worker"), read(log));
        assertEquals(List.of("stopped backend, celery_worker, frontend (docker compose stop)", "started backend",
                "started celery_worker after 1 s"), s.log());
    }

    @Test
    void replaceRunsTheConfiguredCommandsAroundTheSwap(PgCluster pg) throws Exception {
        String db = pg.createDatabase("svc_app");
        pg.execute(db, "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)");
        Path log = dir.resolve("svc.log");
        Path config = Files.writeString(dir.resolve("c.yaml"), """
                targets:
                  app:
                    host: 127.0.0.1
                    port: %d
                    dbname: %s
                    user: postgres
                    repo: %s
                    services:
                      stop_command: [bash, -c, "echo stop >> %s"]
                      start_command: [bash, -c, "echo start >> %s"]
                """.formatted(pg.port(), db, dir.resolve("repo"), log, log));
        Map<String, String> env = new HashMap<>(pg.env(db));
        env.keySet().removeIf(k -> k.startsWith("PG") && !k.equals("PGPASSWORD"));
        assertEquals(0, CliRun.run(env, dir, "backup", "--config", config.toString()).exitCode());
        pg.execute(db, "DELETE FROM t");
        CliRun r = CliRun.run(env, dir, "restore", "--config", config.toString(), "--latest", "--yes", "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(List.of("stop", "start"), read(log));
        assertEquals(2L, ((Number) pg.scalar(db, "SELECT count(*) FROM t")).longValue());
        assertTrue(r.out().contains("ran stop_command"), r.out());
    }

    @Test
    void withGlobalsCreatesMissingRolesAndLeavesExistingOnes(PgCluster pg) throws Exception {
        String db = pg.createDatabase("glob_app");
        pg.execute("postgres", "DROP ROLE IF EXISTS glob_reader; DROP ROLE IF EXISTS \"Glob Writer\";"
                + "CREATE ROLE glob_reader LOGIN CONNECTION LIMIT 3; CREATE ROLE \"Glob Writer\" NOLOGIN");
        pg.execute(db, "CREATE TABLE t (id int); GRANT SELECT ON t TO glob_reader; GRANT INSERT ON t TO \"Glob Writer\"");
        Map<String, String> env = pg.env(db);
        Path repo = dir.resolve("repo-g");
        assertEquals(0, CliRun.run(env, dir, "backup", "--repo", repo.toString()).exitCode());
        // A new server would have neither; here one is dropped and the other changed by hand.
        pg.execute(db, "DROP TABLE t");
        pg.execute("postgres", "DROP ROLE \"Glob Writer\"; ALTER ROLE glob_reader CONNECTION LIMIT 7");
        CliRun r = CliRun.run(env, dir, "restore", "--repo", repo.toString(), "--latest", "--with-globals", "--target-db", "glob_copy",
                "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("roles created: Glob Writer"), r.out());
        assertTrue(r.out().contains("left as they are: ") && r.out().contains("glob_reader"), r.out());
        assertEquals(7, ((Number) pg.scalar("postgres", "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'glob_reader'")).intValue(),
                "an existing role is left exactly as it is");
        assertEquals(true, pg.scalar("glob_copy", "SELECT has_table_privilege('Glob Writer', 't', 'INSERT')"));
        pg.execute("postgres", "DROP DATABASE glob_copy");
    }

    private Path fakeDocker(Path log) {
        try {
            Path fake = dir.resolve("docker");
            Files.writeString(fake, "#!/bin/bash\necho \"$*\" >> '" + log + "'\n");
            fake.toFile().setExecutable(true);
            return fake;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> read(Path p) {
        try {
            return Files.readAllLines(p);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
