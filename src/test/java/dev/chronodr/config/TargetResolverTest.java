package dev.chronodr.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.Environment;
import dev.chronodr.pg.ExecMode;

/** Precedence: flag > environment > config file > built-in default, decided in one place. */
class TargetResolverTest {
    @TempDir
    Path dir;

    private Target resolve(Map<String, String> env, ConnectionRequest req) {
        Map<String, String> e = new HashMap<>(env);
        e.putIfAbsent("HOME", dir.toString());
        e.putIfAbsent("USER", "osuser");
        return new TargetResolver(new Environment(e, dir)).resolve(req);
    }

    private ConnectionRequest req(String host, Integer port, String config, String target) {
        return new ConnectionRequest(host, port, null, null, null, null, config, target, null, null, null, null, null, false);
    }

    private Path config() throws Exception {
        return Files.writeString(dir.resolve("c.yaml"), """
                default_target: prod
                targets:
                  prod:
                    host: cfg-host
                    port: 6000
                    dbname: chrono_scraper
                    user: chrono_scraper
                    exec: compose
                    compose: {service: postgres, file: docker-compose.yml}
                    repo: /srv/backups
                    critical_tables: [users, pages]
                    monitor: {anything: 1}
                  other:
                    host: other-host
                """);
    }

    @Test
    void defaults() {
        Target t = resolve(Map.of(), req(null, null, null, null));
        assertEquals("localhost", t.connection().host());
        assertEquals(5432, t.connection().port());
        assertEquals("osuser", t.connection().user());
        assertEquals("osuser", t.connection().dbname());
        assertEquals(ExecMode.LOCAL, t.exec().mode());
        assertEquals(dir.resolve("backups"), t.repo().path("test"));
        assertNull(t.connection().password());
    }

    @Test
    void configThenEnvThenFlag() throws Exception {
        config();
        Target fromConfig = resolve(Map.of(), req(null, null, "c.yaml", null));
        assertEquals("cfg-host", fromConfig.connection().host());
        assertEquals(6000, fromConfig.connection().port());
        assertEquals(ExecMode.COMPOSE, fromConfig.exec().mode());
        assertEquals(dir.resolve("docker-compose.yml"), fromConfig.exec().composeFile());
        assertEquals(Path.of("/srv/backups"), fromConfig.repo().path("test"));
        assertEquals(java.util.List.of("users", "pages"), fromConfig.criticalTables());
        assertEquals(1, fromConfig.config().sections().get("monitor").get("anything").asInt());

        Target fromEnv = resolve(Map.of("PGHOST", "env-host", "PGPORT", "7000"), req(null, null, "c.yaml", null));
        assertEquals("env-host", fromEnv.connection().host());
        assertEquals(7000, fromEnv.connection().port());

        Target fromFlag = resolve(Map.of("PGHOST", "env-host"), req("flag-host", 8000, "c.yaml", null));
        assertEquals("flag-host", fromFlag.connection().host());
        assertEquals(8000, fromFlag.connection().port());
    }

    @Test
    void configFromEnvironmentAndNamedTarget() throws Exception {
        config();
        Target t = resolve(Map.of("CHRONO_DR_CONFIG", "c.yaml", "CHRONO_DR_TARGET", "other"), req(null, null, null, null));
        assertEquals("other", t.name());
        assertEquals("other-host", t.connection().host());
    }

    @Test
    void passwordPrecedence() throws Exception {
        Path flagFile = Files.writeString(dir.resolve("flag.pw"), "from-flag\n");
        Path pgpass = Files.writeString(dir.resolve("pgpass"), "*:*:*:*:from-passfile\n");
        Files.setPosixFilePermissions(pgpass, PosixFilePermissions.fromString("rw-------"));
        ConnectionRequest withFile = new ConnectionRequest(null, null, null, null, flagFile.toString(), null, null, null, null, null, null, null, null, false);
        assertEquals("from-flag", resolve(Map.of("PGPASSWORD", "from-env"), withFile).connection().password().reveal());
        assertEquals("from-env", resolve(Map.of("PGPASSWORD", "from-env", "PGPASSFILE", pgpass.toString()),
                req(null, null, null, null)).connection().password().reveal());
        assertEquals("from-passfile", resolve(Map.of("PGPASSFILE", pgpass.toString()), req(null, null, null, null)).connection().password().reveal());
    }

    @Test
    void pgpassEscapesAndWildcards() throws Exception {
        Path pgpass = Files.writeString(dir.resolve(".pgpass"),
                "db:5432:other:u:wrong\ndb:5432:*:u:pa\\:ss\\\\word\n");
        Files.setPosixFilePermissions(pgpass, PosixFilePermissions.fromString("rw-------"));
        var s = PasswordSources.pgpass(pgpass, "db", 5432, "app", "u");
        assertEquals("pa:ss\\word", s.reveal());
        Files.setPosixFilePermissions(pgpass, PosixFilePermissions.fromString("rw-r--r--"));
        assertNull(PasswordSources.pgpass(pgpass, "db", 5432, "app", "u"), "libpq ignores a world-readable pgpass");
    }

    @Test
    void secretNeverPrints() {
        var s = dev.chronodr.core.Secret.of("hunter2");
        assertEquals("********", s.toString());
        var c = new dev.chronodr.pg.ConnectionSettings("h", 1, "d", "u", s, null);
        org.junit.jupiter.api.Assertions.assertFalse(c.toString().contains("hunter2"));
    }
}
