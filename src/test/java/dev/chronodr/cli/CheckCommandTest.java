package dev.chronodr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.sandbox.LocalCluster;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

@PostgresTest
class CheckCommandTest {
    private final PgCluster pg;
    @TempDir
    Path dir;

    CheckCommandTest(PgCluster pg) {
        this.pg = pg;
    }

    @Test
    void reportsServerToolsAndRepository() {
        CliRun r = CliRun.run(pg.env("postgres"), dir, "check", "--repo", dir.resolve("backups").toString(), "--format", "json");
        assertEquals(0, r.exitCode(), r.toString());
        JsonNode j = r.json();
        assertEquals(0, j.get("exit_code").asInt());
        assertEquals("primary", j.at("/server/role").asText());
        assertEquals(pg.scalar("postgres", "SELECT current_setting('server_version_num')::int"), j.at("/server/version_num").asInt());
        assertTrue(j.at("/server/data_checksums").asBoolean());
        JsonNode dump = j.get("tools").get(0);
        assertEquals("pg_dump", dump.get("name").asText());
        assertTrue(dump.get("usable").asBoolean());
        assertTrue(j.at("/repository/writable").asBoolean());
        assertFalse(j.at("/repository/exists").asBoolean(), "the repository is created by backup, not by check");
    }

    @Test
    void textNamesTheServerAndTools() {
        CliRun r = CliRun.run(pg.env("postgres"), dir, "check", "--repo", dir.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().startsWith("OK: postgres@127.0.0.1:" + pg.port() + "/postgres"), r.out());
        assertTrue(r.out().contains("pg_restore"), r.out());
    }

    @Test
    void unreadableRepositoryIsAWarning() throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
        CliRun r = CliRun.run(pg.env("postgres"), dir, "check", "--repo", file.toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.out().contains("exists but is not a directory"), r.out());
    }

    @Test
    void unreachableServerIsCriticalAndNamesHostAndPort() {
        int closed = LocalCluster.freePort();
        CliRun r = CliRun.run(pg.env("postgres"), dir, "check", "-p", String.valueOf(closed));
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("127.0.0.1:" + closed), r.err());
        assertEquals(2, r.err().lines().count(), "one line and a hint: " + r.err());
    }

    @Test
    void unreachableServerInJsonIsOneDocument() {
        int closed = LocalCluster.freePort();
        CliRun r = CliRun.run(pg.env("postgres"), dir, "check", "-p", String.valueOf(closed), "--format", "json");
        assertEquals(2, r.exitCode());
        assertEquals(2, r.json().get("exit_code").asInt());
        assertTrue(r.json().at("/error/message").asText().contains(String.valueOf(closed)));
        assertEquals("", r.err());
    }

    @Test
    void wrongPasswordIsCriticalAndNeverEchoed() {
        Map<String, String> env = new java.util.HashMap<>(pg.env("postgres"));
        env.put("PGPASSWORD", "Sekr1t-wrong-pw");
        CliRun r = CliRun.run(env, dir, "check", "-v");
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("password authentication failed"), r.err());
        assertFalse(r.toString().contains("Sekr1t-wrong-pw"));
    }

    @Test
    void passwordFileIsRead() throws Exception {
        Path pw = dir.resolve("pw");
        Files.writeString(pw, pg.password().reveal() + "\n");
        Files.setPosixFilePermissions(pw, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Map<String, String> env = new java.util.HashMap<>(pg.env("postgres"));
        env.remove("PGPASSWORD");
        env.put("HOME", dir.toString());
        CliRun r = CliRun.run(env, dir, "check", "--password-file", pw.toString(), "--repo", dir.toString());
        assertEquals(0, r.exitCode(), r.toString());
    }

    @Test
    void pgpassIsRead() throws Exception {
        Path pgpass = dir.resolve(".pgpass");
        Files.writeString(pgpass, "# comment\notherhost:*:*:*:nope\n127.0.0.1:" + pg.port() + ":*:postgres:" + pg.password().reveal() + "\n");
        Files.setPosixFilePermissions(pgpass, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Map<String, String> env = new java.util.HashMap<>(pg.env("postgres"));
        env.remove("PGPASSWORD");
        env.put("HOME", dir.toString());
        CliRun r = CliRun.run(env, dir, "check", "--repo", dir.toString());
        assertEquals(0, r.exitCode(), r.toString());
    }
}
