package dev.chronodr.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * What {@code chrono-dr schedule} prints runs chrono-dr as intended: the cron line is run
 * through /bin/sh in cron's bare environment and takes a real backup; the systemd units
 * pass systemd's own verifier; the CronJobs are the objects Kubernetes expects; an install
 * writes only its own files and only when confirmed.
 */
@PostgresTest
class ScheduleCommandTest {
    private final PgCluster pg;
    @TempDir
    Path tmp;
    private Path dir;
    private Path launcher;
    private Path config;
    private Path repo;
    private Path logs;

    ScheduleCommandTest(PgCluster pg) {
        this.pg = pg;
    }

    /** A deployment directory, config, password file and launcher whose paths hold a space, a quote, ü and %. */
    private Map<String, String> setUp(String db, String scheduleYaml) throws Exception {
        dir = Files.createDirectories(tmp.resolve("srv 'chrono' ü"));
        repo = dir.resolve("repo ü");
        logs = dir.resolve("logs 100%");
        Path password = dir.resolve("pw file");
        Files.writeString(password, pg.password().reveal() + "\n");
        Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
        config = Files.createDirectories(dir.resolve("config")).resolve("chrono-dr.yaml");
        Files.writeString(config, "default_target: \"main db.ü\"\n"
                + "targets:\n"
                + "  \"main db.ü\":\n"
                + "    host: " + pg.host() + "\n"
                + "    port: " + pg.port() + "\n"
                + "    dbname: " + db + "\n"
                + "    user: " + pg.superuser() + "\n"
                + "    sslmode: disable\n"
                + "    password_file: \"pw file\"\n"
                + "    repo: \"repo ü\"\n"
                + "    schedule:\n"
                + "      log_dir: \"" + logs + "\"\n"
                + scheduleYaml);
        // The launcher a cron job calls: this build's classes, as an installed chrono-dr would run.
        launcher = tmp.resolve("bin dir ü").resolve("chrono-dr");
        Files.createDirectories(launcher.getParent());
        Files.writeString(launcher, "#!/bin/sh\nexec '" + Path.of(System.getProperty("java.home"), "bin", "java")
                + "' -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp '" + System.getProperty("java.class.path")
                + "' dev.chronodr.Main \"$@\"\n");
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        Map<String, String> env = new HashMap<>(System.getenv());
        env.keySet().removeIf(k -> k.startsWith("PG") || k.startsWith("CHRONO_DR_"));
        env.put("CHRONO_DR_LAUNCHER", launcher.toString());
        return env;
    }

    @Test
    void theCronLinesRunChronoDrFromCronsBareEnvironment() throws Exception {
        String db = pg.createDemoDatabase("sched_cron");
        Map<String, String> env = setUp(db, "      mailto: dba@example.com\n");
        CliRun r = CliRun.run(env, dir, "schedule", "--format", "cron");
        assertEquals(0, r.exitCode(), r.toString());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.contains("MAILTO=dba@example.com"), r.out());
        // The runbook's times, one line per job
        List<String> jobs = lines.stream().filter(l -> !l.startsWith("#") && !l.contains("=")).toList();
        assertEquals(List.of("*/5 * * * *", "0 2 * * *", "0 3 * * 0", "0 4 1 * *"),
                jobs.stream().map(l -> String.join(" ", List.of(l.split(" ")).subList(0, 5))).toList(), r.out());
        String backupLine = jobs.get(1);
        assertTrue(backupLine.contains("\\%"), "cron's % is escaped: " + backupLine);
        assertTrue(backupLine.contains("--config") && backupLine.contains("--target"), backupLine);

        // Run it as cron would: /bin/sh -c, from /, with cron's environment (no PG*, no CHRONO_DR_*)
        String command = backupLine.split(" ", 6)[5].replace("\\%", "%");
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", command).directory(Path.of("/").toFile())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("sh.out").toFile());
        pb.environment().clear();
        pb.environment().put("HOME", System.getProperty("user.home"));
        // cron sets what the crontab's NAME=value lines say, and nothing else
        lines.stream().filter(l -> l.matches("[A-Z]+=.*")).forEach(l -> pb.environment().put(l.substring(0, l.indexOf('=')),
                l.substring(l.indexOf('=') + 1)));
        int rc = pb.start().waitFor();
        String log = Files.readString(logs.resolve("backup.log"));
        assertEquals(0, rc, Files.readString(tmp.resolve("sh.out")) + log);
        // backup, then cleanup, both in the log; and a committed backup of the database in the repository
        assertTrue(log.contains("backup") && log.toLowerCase().contains("cleanup") || log.contains("kept"), log);
        try (Stream<Path> s = Files.list(repo)) {
            List<String> ids = s.map(x -> x.getFileName().toString()).filter(n -> n.startsWith(db + "_full_")).toList();
            assertEquals(1, ids.size(), "one committed backup: " + ids);
            assertTrue(Files.isRegularFile(repo.resolve(ids.get(0)).resolve("manifest.json")));
        }
    }

    @Test
    void systemdUnitsPassSystemdsVerifierAndInstallOnlyWhenConfirmed() throws Exception {
        String db = pg.createDemoDatabase("sched_systemd");
        Map<String, String> env = setUp(db, "      user: postgres\n      dr_test: \"30 4 * * 1-5\"\n"
                + "      wal_receive: true\n      monitor_listen: \"127.0.0.1:9187\"\n");
        CliRun cron = CliRun.run(env, dir, "schedule", "--format", "cron");
        assertEquals(0, cron.exitCode(), cron.toString());
        assertTrue(cron.out().contains("# Not here: wal-receive and monitor --listen must run all the time"), cron.out());
        CliRun r = CliRun.run(env, dir, "schedule", "--format", "systemd");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("OnCalendar=Mon,Tue,Wed,Thu,Fri *-*-* 04:30:00"), r.out());

        Path units = Files.createDirectories(tmp.resolve("units"));
        // No terminal and no --yes: refused, nothing written
        CliRun refused = CliRun.run(env, dir, "schedule", "--format", "systemd", "--install", "--dest", units.toString());
        assertEquals(64, refused.exitCode(), refused.toString());
        try (Stream<Path> s = Files.list(units)) {
            assertEquals(0, s.count());
        }

        CliRun installed = CliRun.run(env, dir, "schedule", "--format", "systemd", "--install", "--dest", units.toString(), "--yes");
        assertEquals(0, installed.exitCode(), installed.toString());
        List<String> names = list(units);
        assertEquals(List.of("chrono-dr-main_db._-backup.service", "chrono-dr-main_db._-backup.timer",
                "chrono-dr-main_db._-dr-test.service", "chrono-dr-main_db._-dr-test.timer",
                "chrono-dr-main_db._-monitor-listen.service", "chrono-dr-main_db._-monitor.service", "chrono-dr-main_db._-monitor.timer",
                "chrono-dr-main_db._-vacuum.service", "chrono-dr-main_db._-vacuum.timer", "chrono-dr-main_db._-wal-receive.service"), names);
        String receiver = Files.readString(units.resolve("chrono-dr-main_db._-wal-receive.service"));
        assertTrue(receiver.contains("Type=simple") && receiver.contains("Restart=always") && receiver.contains("KillSignal=SIGTERM")
                && receiver.contains("StateDirectory=chrono-dr") && receiver.contains(" wal-receive "), receiver);
        assertTrue(Files.readString(units.resolve("chrono-dr-main_db._-monitor-listen.service")).contains(" --listen 127.0.0.1:9187"));
        assertTrue(installed.out().contains("chrono-dr-main_db._-wal-receive.service"), "enabled beside the timers: " + installed.out());
        assertTrue(installed.out().contains("systemctl --user daemon-reload"), installed.out());

        List<String> argv = new ArrayList<>(List.of("systemd-analyze", "verify", "--man=no"));
        names.forEach(n -> argv.add(units.resolve(n).toString()));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertEquals("", out.strip(), "no warnings from systemd-analyze verify");
        String backup = Files.readString(units.resolve("chrono-dr-main_db._-backup.service"));
        assertTrue(backup.contains("ProtectSystem=strict") && backup.contains("NoNewPrivileges=yes"), backup);
        assertTrue(backup.contains("ReadWritePaths=\"" + repo + "\""), backup);
        assertTrue(backup.contains("100%%"), "systemd's % is escaped: " + backup);
        assertEquals(2, backup.lines().filter(l -> l.startsWith("ExecStart=")).count(), "backup, then cleanup: " + backup);

        // systemd runs no program whose path holds a quote: refused here, not by systemd at 02:00
        Path quoted = Files.createDirectories(tmp.resolve("it's")).resolve("chrono-dr");
        Files.copy(launcher, quoted);
        CliRun q = CliRun.run(env, dir, "schedule", "--format", "systemd", "--launcher", quoted.toString());
        assertEquals(64, q.exitCode(), q.toString());
        assertTrue(q.err().contains("--launcher"), q.err());

        // vacuum turned off: a new install removes its two files and nothing else
        Files.writeString(config, Files.readString(config) + "      vacuum: \"off\"\n");
        Path foreign = units.resolve("chrono-dr-other-vacuum.timer");
        Files.writeString(foreign, "[Timer]\nOnCalendar=daily\n");
        CliRun again = CliRun.run(env, dir, "schedule", "--format", "systemd", "--install", "--dest", units.toString(), "--yes");
        assertEquals(0, again.exitCode(), again.toString());
        assertFalse(Files.exists(units.resolve("chrono-dr-main_db._-vacuum.timer")));
        assertTrue(Files.exists(foreign), "another target's or a person's file is left alone");
        assertEquals(9, list(units).size());
    }

    @Test
    void aFileChronoDrDidNotWriteIsNeverReplaced() throws Exception {
        String db = pg.createDemoDatabase("sched_foreign");
        Map<String, String> env = setUp(db, "");
        Path units = Files.createDirectories(tmp.resolve("units"));
        Path mine = units.resolve("chrono-dr-main_db._-monitor.timer");
        Files.writeString(mine, "[Timer]\nOnCalendar=hourly\n");
        CliRun r = CliRun.run(env, dir, "schedule", "--format", "systemd", "--install", "--dest", units.toString(), "--yes");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("refusing to replace") && r.err().contains("did not generate"), r.err());
        assertEquals(List.of("chrono-dr-main_db._-monitor.timer"), list(units), "nothing written");
        assertEquals("[Timer]\nOnCalendar=hourly\n", Files.readString(mine));
    }

    @Test
    void kubernetesCronJobsForbidOverlapAndTakeThePasswordFromASecret() throws Exception {
        String db = pg.createDemoDatabase("sched_k8s");
        Map<String, String> env = setUp(db, "      kubernetes:\n        namespace: chrono\n        image: registry.local/chrono-dr:1\n");
        CliRun r = CliRun.run(env, dir, "schedule", "--format", "kubernetes");
        assertEquals(0, r.exitCode(), r.toString());
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = new ObjectMapper(new YAMLFactory()).readerFor(JsonNode.class).readValues(r.out())) {
            while (it.hasNext()) {
                JsonNode n = it.next();
                if (n != null && !n.isNull() && !n.isEmpty()) {
                    docs.add(n);
                }
            }
        }
        assertEquals(4, docs.size(), r.out());
        for (JsonNode d : docs) {
            assertEquals("CronJob", d.path("kind").asText());
            assertEquals("batch/v1", d.path("apiVersion").asText());
            assertEquals("chrono", d.path("metadata").path("namespace").asText());
            assertTrue(d.path("metadata").path("name").asText().matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?"), d.toString());
            assertEquals("Forbid", d.path("spec").path("concurrencyPolicy").asText());
            assertTrue(d.path("spec").path("startingDeadlineSeconds").asInt() > 0);
            JsonNode c = d.path("spec").path("jobTemplate").path("spec").path("template").path("spec").path("containers").get(0);
            assertEquals("registry.local/chrono-dr:1", c.path("image").asText());
            assertEquals("PGPASSWORD", c.path("env").get(0).path("name").asText());
            assertEquals("password", c.path("env").get(0).path("valueFrom").path("secretKeyRef").path("key").asText());
            assertTrue(c.toString().contains("/etc/chrono-dr/chrono-dr.yaml"), "the mounted config: " + c);
            assertFalse(c.toString().contains(dir.toString() + "/config"), "not this host's config path: " + c);
        }
        assertEquals("*/5 * * * *", docs.get(0).path("spec").path("schedule").asText());

        CliRun install = CliRun.run(env, dir, "schedule", "--format", "kubernetes", "--install", "--yes");
        assertEquals(64, install.exitCode(), install.toString());
        assertTrue(install.err().contains("kubectl apply"), install.err());
    }

    @Test
    void aScheduleCronCannotReadIsRefusedWithTheKeyNamed() throws Exception {
        String db = pg.createDemoDatabase("sched_bad");
        Map<String, String> env = setUp(db, "      backup: \"0 2 * * mon-fri/2\"\n");
        CliRun r = CliRun.run(env, dir, "schedule", "--format", "cron");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("schedule.backup '0 2 * * mon-fri/2'"), r.err());
        assertEquals("", r.out());

        CliRun json = CliRun.run(setUp(db, ""), dir, "schedule", "--format", "json", "--as", "systemd");
        assertEquals(0, json.exitCode(), json.toString());
        assertEquals("systemd", json.json().path("format").asText(json.out()));
        assertEquals("Sun *-*-* 03:00:00", json.json().path("jobs").get(2).path("on_calendar").asText(), json.out());
    }

    private static List<String> list(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(x -> x.getFileName().toString()).sorted().toList();
        }
    }
}
