package dev.chronodr.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Status;
import dev.chronodr.report.CheckOutcome;
import dev.chronodr.report.Format;
import dev.chronodr.report.Metric;
import dev.chronodr.report.Renderer;
import dev.chronodr.report.TextOutput;
import dev.chronodr.report.Unit;

/** Rendering and query building, without a server. */
class OutputFormatsTest {

    private static MonitorReport report() {
        Threshold conn = Thresholds.defaults().get("connections");
        List<CheckOutcome> checks = List.of(
                new CheckOutcome("connection", Status.OK, "connected", List.of(Metric.of("up", 1, Unit.COUNT, "Up.")), List.of()),
                new CheckOutcome("connections", Status.WARNING, "52 of 57 in use | piped\nnewline",
                        List.of(Threshold.judged("connections_used", 91.2, conn, "Used.")), List.of()),
                new CheckOutcome("dead_tuples", Status.CRITICAL, "public.\"odd\" table",
                        List.of(Metric.labelled("dead_tuples", 66.7, Unit.PERCENT, Map.of("schema", "public", "table", "odd \"q\" \\ x"), "Dead.")),
                        List.of()),
                new CheckOutcome("cache_hit", Status.OK, "99.1% of reads from memory",
                        List.of(Threshold.judged("cache_hit", 99.1, Thresholds.defaults().get("cache_hit"), "Hit ratio.")), List.of()),
                CheckOutcome.of("archiving", Status.SKIPPED, "archive_mode is off"));
        return new MonitorReport(Status.CRITICAL, "prod", "mon@db:5432/app", "15.8", "primary",
                OffsetDateTime.parse("2025-01-02T03:04:05.678+01:00"), 42, checks, null, null);
    }

    private static String render(MonitorReport r, Format f) {
        StringWriter w = new StringWriter();
        new Renderer(f, false).render(r, new PrintWriter(w));
        return w.toString();
    }

    @Test
    void nagiosIsOneLineWithPerfdataAndNoStrayPipes() {
        String line = render(report(), Format.NAGIOS);
        assertEquals(1, line.strip().lines().count(), line);
        assertTrue(line.startsWith("CHRONO-DR CRITICAL - CRITICAL dead_tuples: "), line);
        String[] parts = line.strip().split("\\|");
        assertEquals(2, parts.length, "exactly one '|' separates text from perfdata: " + line);
        assertTrue(parts[0].indexOf("WARNING connections") > parts[0].indexOf("CRITICAL dead_tuples"), "worst first: " + line);
        assertTrue(parts[1].contains(" connections_used=91.2%;80;95;;"), parts[1]);
        assertTrue(parts[1].contains(" up=1;;;;"), parts[1]);
        // Lower is worse for a hit ratio: the plugin guidelines' "alert below" range is "95:", not "95".
        assertTrue(parts[1].contains(" cache_hit=99.1%;95:;90:;;"), parts[1]);
        assertFalse(parts[1].contains("dead_tuples="), "labelled metrics stay out of perfdata: " + parts[1]);
        for (String p : parts[1].strip().split(" ")) {
            assertTrue(p.matches("[a-z_]+=-?[0-9.]+(s|B|%)?;([0-9.]+:?)?;([0-9.]+:?)?;;"), "perfdata item " + p);
        }
        assertEquals(ExitCode.CRITICAL, report().exitCode());
    }

    @Test
    void prometheusParsesAndEscapesLabels() {
        String text = render(report(), Format.PROMETHEUS);
        PrometheusText p = PrometheusText.parse(text);
        assertEquals(2, p.value("chrono_dr_status{target=\"prod\"}"));
        assertEquals(1, p.value("chrono_dr_check_status{check=\"connections\",target=\"prod\"}"));
        assertEquals(0.912, p.value("chrono_dr_connections_used_ratio{target=\"prod\"}"), 1e-9);
        assertEquals(0.667, p.value("chrono_dr_dead_tuples_ratio{schema=\"public\",table=\"odd \"q\" \\ x\",target=\"prod\"}"), 1e-9);
        assertFalse(text.contains("check=\"archiving\""), "skipped checks have no status sample");
        assertEquals("gauge", p.type.get("chrono_dr_up"));
        assertEquals(1735783445.678, p.value("chrono_dr_monitor_timestamp_seconds{target=\"prod\"}"), 1e-6);
    }

    @Test
    void theParserRejectsBrokenExposition() {
        assertThrows(AssertionError.class, () -> PrometheusText.parse("chrono-dr_up 1\n"));
        assertThrows(AssertionError.class, () -> PrometheusText.parse("a{x=\"1} 1\n"));
        assertThrows(AssertionError.class, () -> PrometheusText.parse("a 1\nb 1\na 2\n"));
        assertThrows(AssertionError.class, () -> PrometheusText.parse("a one\n"));
        assertThrows(AssertionError.class, () -> PrometheusText.parse("# TYPE a gauge\n# TYPE a gauge\na 1\n"));
    }

    @Test
    void textIsOneLinePerCheckWorstFirst() {
        StringWriter w = new StringWriter();
        new TextOutput(new PrintWriter(w), false).render(report().text());
        List<String> lines = w.toString().lines().toList();
        assertEquals(6, lines.size(), w.toString());
        assertTrue(lines.get(0).startsWith("CRITICAL mon@db:5432/app"), lines.get(0));
        assertTrue(lines.get(1).startsWith("CRITICAL dead_tuples"), lines.get(1));
        assertTrue(lines.get(2).startsWith("WARNING  connections"), lines.get(2));
        assertTrue(lines.get(3).startsWith("SKIPPED  archiving"), lines.get(3));
        assertTrue(lines.get(4).startsWith("OK       connection"), lines.get(4));
    }

    @Test
    void pgStatStatementsColumnsFollowTheExtensionVersion() {
        String old = SlowStatementsCheck.query("1.7", "public", 5).sql();
        assertTrue(old.contains("s.total_time") && old.contains("s.mean_time"), old);
        assertFalse(old.contains("exec_time"), old);
        String current = SlowStatementsCheck.query("1.10", "ext schema", 5).sql();
        assertTrue(current.contains("s.total_exec_time") && current.contains("ORDER BY s.mean_exec_time"), current);
        assertTrue(current.contains("\"ext schema\".\"pg_stat_statements\""), current);
        assertTrue(SlowStatementsCheck.atLeast("1.8", 1, 8));
        assertTrue(SlowStatementsCheck.atLeast("1.11", 1, 8));
        assertFalse(SlowStatementsCheck.atLeast("1.6", 1, 8));
    }

    @Test
    void queriesAreBuiltForTheServerVersion() {
        ServerFacts pg13 = facts(130011, false);
        ServerFacts pg16 = facts(160002, false);
        assertTrue(SessionChecks.activity(pg13).sql().contains("a.query_start AS") == false
                && !SessionChecks.activity(pg13).sql().contains("waitstart"), "no pg_locks.waitstart before 14");
        assertTrue(SessionChecks.activity(pg16).sql().contains("waitstart"));
        String slots12 = new ReplicationChecks.ReplicationSlots().queries(facts(120005, false), MonitorSettings.defaults()).get(0).sql();
        assertTrue(slots12.contains("NULL::text AS wal_status"), slots12);
        String standby = new ReplicationChecks.Replication().queries(facts(150000, true), MonitorSettings.defaults()).get(0).sql();
        assertFalse(standby.contains("pg_current_wal_lsn"), "fails during recovery: " + standby);
        assertTrue(standby.contains("pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0"), standby);
        assertEquals(57, facts(160002, false).usableConnections());
    }

    @Test
    void loopbackAndSocketsAreLocal() {
        assertTrue(DiskCheck.isLocal("127.0.0.1"));
        assertTrue(DiskCheck.isLocal("localhost"));
        assertTrue(DiskCheck.isLocal("/var/run/postgresql"));
        assertFalse(DiskCheck.isLocal("192.0.2.10"));
    }

    static ServerFacts facts(int versionNum, boolean standby) {
        return new ServerFacts(new dev.chronodr.pg.PgVersion(versionNum), "x", standby, "app", "mon", false, true, true, 1, 5432,
                60, 3, 0, "/data", "off", "", null, null);
    }
}
