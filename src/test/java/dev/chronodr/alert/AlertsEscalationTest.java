package dev.chronodr.alert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.chronodr.config.ConnectionRequest;
import dev.chronodr.config.Target;
import dev.chronodr.config.TargetResolver;
import dev.chronodr.core.Environment;
import dev.chronodr.core.Json;
import dev.chronodr.monitor.MonitorOptions;
import dev.chronodr.monitor.MonitorReport;
import dev.chronodr.monitor.MonitorRequest;
import dev.chronodr.monitor.MonitorService;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * The alerts: section on one real cluster with real receivers on loopback: PagerDuty and
 * Slack payloads read by an HTTP server, e-mail through Debian's aiosmtpd with STARTTLS and
 * AUTH. A session left idle in a transaction is the CRITICAL problem; committing it ends it.
 */
@PostgresTest
class AlertsEscalationTest {
    private static final String DB = "alerts";
    private static final String PASSWORD = "smtp-Pa55-do-not-print";
    private static final String ROUTING_KEY = "R0UTING-KEY-do-not-print";
    private final PgCluster pg;
    private final AlertReceivers receivers = new AlertReceivers();
    @TempDir
    Path dir;

    AlertsEscalationTest(PgCluster pg) {
        this.pg = pg;
        if (pg.scalar("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + DB + "'").toString().equals("0")) {
            pg.createDatabase(DB);
        }
    }

    @AfterEach
    void stopReceivers() throws Exception {
        receivers.close();
    }

    private Path secret(String name, String value) throws Exception {
        return Files.writeString(dir.resolve(name), value + "\n");
    }

    /** The config: the idle-in-transaction check at CRITICAL after 1 s, and the given alerts: section. */
    private Path config(String alerts) throws Exception {
        return Files.writeString(dir.resolve("chrono-dr.yaml"), """
                targets:
                  prod:
                    monitor:
                      checks: [idle_in_transaction]
                      warning: {idle_in_transaction: 300ms}
                      critical: {idle_in_transaction: 1s}
                    alerts:
                """ + alerts.indent(6));
    }

    private MonitorReport monitor(Path config, AlertReceivers.MovableClock clock) {
        Environment env = new Environment(pg.env(DB), dir);
        Target target = new TargetResolver(env).resolve(new ConnectionRequest(null, null, null, null, null, null,
                config.toString(), "prod", null, null, null, null, null, false));
        return new MonitorService(clock).run(MonitorRequest.resolve(MonitorOptions.none(), target, env));
    }

    /** A session of the superuser's that stays idle inside a transaction until closed or committed. */
    private Connection idleInTransaction() throws Exception {
        Connection c = pg.connect(DB);
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SELECT 1");
        }
        Thread.sleep(1300);
        return c;
    }

    @Test
    void escalationFollowsTheContactTableAcrossRunsAndRecoveryReachesEveryChannelAlerted() throws Exception {
        String http = receivers.http();
        Path cert = dir.resolve("smtp-cert.pem");
        Path mailDir = dir.resolve("mail");
        int smtpPort = receivers.smtp(dir, mailDir, cert, "chrono", PASSWORD);
        Path state = dir.resolve("state/alerts-prod.json");
        Path config = config("""
                state_file: %s
                timeout: 30s
                channels:
                  oncall: {type: pagerduty, url: %s/v2/enqueue, routing_key_file: %s}
                  dba:
                    type: email
                    host: localhost
                    port: %d
                    trust_file: %s
                    user: chrono
                    password_file: %s
                    from: chrono-dr@example.com
                    to: [dba@example.com, oncall-dba@example.com]
                  team: {type: slack, url_file: %s}
                escalation:
                  - {after: 0m, notify: [oncall]}
                  - {after: 15m, notify: dba}
                  - {after: 30m, notify: [team]}
                """.formatted(state, http, secret("pd.key", ROUTING_KEY), smtpPort, cert, secret("smtp.pw", PASSWORD),
                secret("slack.url", http + "/services/T000/B000/slack-secret")));
        Instant t0 = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        AlertReceivers.MovableClock clock = new AlertReceivers.MovableClock(t0);

        try (Connection idle = idleInTransaction()) {
            // t = 0: PagerDuty only.
            MonitorReport first = monitor(config, clock);
            assertEquals("CRITICAL", first.check("idle_in_transaction").status().name(), first.text().toString());
            List<JsonNode> pd = receivers.posted("/v2/enqueue");
            assertEquals(1, pd.size(), "one trigger: " + receivers.posts);
            JsonNode trigger = pd.get(0);
            assertEquals(ROUTING_KEY, trigger.get("routing_key").asText());
            assertEquals("trigger", trigger.get("event_action").asText());
            assertEquals("chrono-dr/prod/idle_in_transaction", trigger.get("dedup_key").asText());
            assertEquals("critical", trigger.at("/payload/severity").asText());
            assertTrue(trigger.at("/payload/summary").asText().startsWith("CRITICAL idle_in_transaction on prod: "), trigger.toString());
            assertFalse(trigger.at("/payload/source").asText().isEmpty());
            assertEquals(t0.toString(), trigger.at("/payload/timestamp").asText());
            assertTrue(AlertReceivers.mails(mailDir).isEmpty(), "no e-mail before 15 minutes");
            assertTrue(receivers.posted("/services/T000/B000/slack-secret").isEmpty(), "no Slack before 30 minutes");
            assertEquals(2, first.exitCode().code(), "the check decides: CRITICAL");
            assertEquals(1, first.alerts().deliveries().size());
            assertTrue(first.alerts().next().startsWith("dba at " + t0.plus(Duration.ofMinutes(15))), first.alerts().next());

            // t = 5m: nothing new; PagerDuty already has the incident.
            clock.set(t0.plus(Duration.ofMinutes(5)));
            MonitorReport again = monitor(config, clock);
            assertTrue(again.alerts().deliveries().isEmpty(), again.alerts().toString());
            assertEquals(1, receivers.posted("/v2/enqueue").size());

            // t = 16m: + e-mail to the DBA, over STARTTLS with AUTH; PagerDuty is not paged again.
            clock.set(t0.plus(Duration.ofMinutes(16)));
            MonitorReport dba = monitor(config, clock);
            assertFalse(dba.alerts().failed(), dba.alerts().toString());
            List<String> mails = AlertReceivers.mails(mailDir);
            assertEquals(1, mails.size(), "one e-mail: " + dba.alerts());
            String mail = mails.get(0);
            assertTrue(mail.contains("X-Envelope-To: dba@example.com,oncall-dba@example.com"), mail);
            assertTrue(mail.contains("X-Auth-Login: chrono"), "authenticated: " + mail);
            assertTrue(mail.contains("X-TLS: True"), "inside STARTTLS: " + mail);
            assertTrue(mail.contains("Subject: [chrono-dr] CRITICAL on prod: idle_in_transaction"), mail);
            assertTrue(mail.contains("From: chrono-dr@example.com"), mail);
            assertTrue(mail.contains("CRITICAL idle_in_transaction: "), mail);
            assertTrue(mail.contains("(since " + t0 + ")"), mail);
            assertEquals(1, receivers.posted("/v2/enqueue").size(), "PagerDuty is not paged again");
            assertTrue(receivers.posted("/services/T000/B000/slack-secret").isEmpty());

            // t = 31m: + Slack.
            clock.set(t0.plus(Duration.ofMinutes(31)));
            MonitorReport team = monitor(config, clock);
            List<JsonNode> slack = receivers.posted("/services/T000/B000/slack-secret");
            assertEquals(1, slack.size(), team.alerts().toString());
            JsonNode s = slack.get(0);
            assertTrue(s.get("text").asText().startsWith("chrono-dr: CRITICAL on prod: idle_in_transaction"), s.toString());
            assertEquals("header", s.at("/blocks/0/type").asText());
            assertEquals("plain_text", s.at("/blocks/0/text/type").asText());
            assertEquals("section", s.at("/blocks/1/type").asText());
            assertEquals("mrkdwn", s.at("/blocks/1/text/type").asText());
            assertTrue(s.at("/blocks/1/text/text").asText().contains("*CRITICAL* `idle_in_transaction`"), s.toString());
            assertEquals(1, AlertReceivers.mails(mailDir).size());
            assertEquals(1, receivers.posted("/v2/enqueue").size());
            assertNull(team.alerts().next(), "every step has been taken");

            idle.commit();
        }

        // The session is gone: resolve to PagerDuty, recovery to e-mail and Slack.
        clock.set(t0.plus(Duration.ofMinutes(35)));
        MonitorReport ok = monitor(config, clock);
        assertEquals("OK", ok.status().name(), ok.text().toString());
        assertEquals(0, ok.exitCode().code(), ok.alerts().toString());
        assertEquals(3, ok.alerts().deliveries().size(), ok.alerts().toString());
        List<JsonNode> pd = receivers.posted("/v2/enqueue");
        assertEquals(2, pd.size());
        JsonNode resolve = pd.get(1);
        assertEquals("resolve", resolve.get("event_action").asText());
        assertEquals("chrono-dr/prod/idle_in_transaction", resolve.get("dedup_key").asText(), "the trigger's key");
        assertEquals(ROUTING_KEY, resolve.get("routing_key").asText());
        List<String> mails = AlertReceivers.mails(mailDir);
        assertEquals(2, mails.size());
        assertTrue(mails.get(1).contains("Subject: [chrono-dr] RESOLVED on prod: idle_in_transaction"), mails.get(1));
        List<JsonNode> slack = receivers.posted("/services/T000/B000/slack-secret");
        assertEquals(2, slack.size());
        assertTrue(slack.get(1).get("text").asText().startsWith("chrono-dr: RESOLVED on prod: idle_in_transaction"), slack.get(1).toString());

        // And then quiet: the problem is forgotten, nothing more is sent.
        clock.set(t0.plus(Duration.ofMinutes(40)));
        MonitorReport quiet = monitor(config, clock);
        assertTrue(quiet.alerts().deliveries().isEmpty());
        assertEquals(0, quiet.alerts().open());
        assertEquals(2, receivers.posted("/v2/enqueue").size());
        String kept = Files.readString(state);
        assertEquals(0, Json.mapper().readTree(kept).get("problems").size(), kept);
        for (String secret : List.of(PASSWORD, ROUTING_KEY, "slack-secret")) {
            assertFalse(kept.contains(secret), "no secret in the state file");
            assertFalse(Json.mapper().writeValueAsString(ok).contains(secret), "no secret in the JSON report");
            assertFalse(ok.text().toString().contains(secret), "no secret in the text report");
        }
    }

    @Test
    void aHangingOrRefusingReceiverIsReportedInTheOutputAndTheExitCodeWithinTheDeadline() throws Exception {
        String http = receivers.http();
        int silent = receivers.silent();
        Path cert = dir.resolve("smtp-cert.pem");
        int smtpPort = receivers.smtp(dir, dir.resolve("mail"), cert, "chrono", PASSWORD);
        Path state = dir.resolve("alerts-state.json");
        String channels = """
                state_file: %s
                timeout: %s
                channels:
                  oncall: {type: pagerduty, url: %s, routing_key_file: %s}
                  dba: {type: email, host: 127.0.0.1, port: %d, trust_file: %s, user: chrono, password_file: %s,
                        from: chrono-dr@example.com, to: dba@example.com}
                  hook: {type: webhook, url: %s}
                """;
        Path key = secret("pd.key", ROUTING_KEY);
        Path wrong = secret("wrong.pw", "not-" + PASSWORD);
        // First run: every receiver answers, so each channel is alerted about the problem.
        Path good = config(channels.formatted(state, "30s", http + "/pd", key, smtpPort, cert, secret("smtp.pw", PASSWORD), http + "/hook"));
        try (Connection idle = idleInTransaction()) {
            CliRun first = CliRun.run(pg.env(DB), dir, "monitor", "--config", good.toString(), "--target", "prod");
            assertEquals(2, first.exitCode(), first.toString());
            assertTrue(first.out().contains("alerts: sent to oncall (pagerduty http://127.0.0.1:"), first.out());
            assertTrue(first.out().contains("alerts: sent to dba (email dba@example.com via smtp://127.0.0.1:" + smtpPort + ")"), first.out());
            JsonNode hook = receivers.posted("/hook").get(0);
            assertEquals("idle_in_transaction", hook.at("/triggered/0/check").asText());
            assertEquals("chrono-dr/prod/idle_in_transaction", hook.at("/triggered/0/dedup_key").asText());
            idle.commit();
        }
        // Then the checks are OK, but PagerDuty hangs and the SMTP server refuses the password:
        // the recoveries fail, the run ends at the deadline, and exit 1 says so instead of 0.
        Path bad = config(channels.formatted(state, "8s", "http://127.0.0.1:" + silent + "/pd", key, smtpPort, cert, wrong, http + "/hook"));
        long t0 = System.nanoTime();
        CliRun r = assertTimeoutPreemptively(Duration.ofSeconds(90), () -> CliRun.run(pg.env(DB), dir, "monitor", "--config",
                bad.toString(), "--target", "prod", "--format", "json"));
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        // The silent peer would hold the run forever; 8 s for every delivery, plus the JVM and checks on a busy machine.
        assertTrue(seconds <= 40, "ended in " + seconds + " s: one 8 s deadline for every delivery");
        assertEquals("OK", r.json().get("status").asText(), r.toString());
        assertEquals(1, r.exitCode(), "a recovery that did not go out is a failed action: " + r);
        assertEquals(1, r.json().get("exit_code").asInt());
        JsonNode deliveries = r.json().at("/alerts/deliveries");
        assertEquals(3, deliveries.size(), r.toString());
        for (JsonNode d : deliveries) {
            assertEquals(List.of("idle_in_transaction"), List.of(d.at("/resolved/0").asText()));
            switch (d.get("channel").asText()) {
                case "oncall" -> {
                    assertFalse(d.get("sent").asBoolean());
                    assertTrue(d.get("detail").asText().contains("no complete answer within 8 s"), d.toString());
                }
                case "dba" -> {
                    assertFalse(d.get("sent").asBoolean());
                    assertTrue(d.get("detail").asText().contains("AuthenticationFailedException"), d.toString());
                }
                default -> assertTrue(d.get("sent").asBoolean(), d.toString());
            }
        }
        for (String secret : List.of(PASSWORD, ROUTING_KEY)) {
            assertFalse(r.out().contains(secret) || r.err().contains(secret), "no secret in the output");
        }
        // The failed channels are still owed their recovery; the one that took it is not.
        JsonNode owed = Json.mapper().readTree(Files.readString(state)).at("/problems/idle_in_transaction/notified");
        assertTrue(owed.has("oncall") && owed.has("dba") && !owed.has("hook"), owed.toString());
        // Text: one line per delivery, and Nagios names the failure.
        CliRun text = CliRun.run(pg.env(DB), dir, "monitor", "--config", bad.toString(), "--target", "prod", "--format", "nagios");
        assertEquals(1, text.exitCode(), text.toString());
        assertTrue(text.out().contains("alert FAILED to send to oncall (pagerduty http://127.0.0.1:" + silent + ")"), text.out());
    }

    @Test
    void aBadAlertsSectionIsAUsageErrorThatNamesTheKey() throws Exception {
        String http = receivers.http();
        Path slackWithUrl = config("""
                channels:
                  team: {type: slack, url: %s/services/T/B/secret}
                """.formatted(http));
        CliRun r = CliRun.run(pg.env(DB), dir, "monitor", "--config", slackWithUrl.toString(), "--target", "prod");
        assertEquals(64, r.exitCode(), r.toString());
        assertTrue(r.err().contains("alerts.channels.team (type slack) has a key it does not use"), r.err());
        assertTrue(receivers.posts.isEmpty(), "nothing sent on a usage error");

        Path unknownChannel = config("""
                channels:
                  oncall: {type: pagerduty, routing_key_file: %s}
                escalation:
                  - {after: 15m, notify: [dba]}
                """.formatted(secret("k", "key")));
        CliRun u = CliRun.run(pg.env(DB), dir, "monitor", "--config", unknownChannel.toString(), "--target", "prod");
        assertEquals(64, u.exitCode(), u.toString());
        assertTrue(u.err().contains("alerts.escalation[0] names channel 'dba', which alerts.channels does not define"), u.err());

        Path clearPassword = config("""
                channels:
                  dba: {type: email, host: 127.0.0.1, tls: none, user: u, password_file: %s, from: a@example.com, to: b@example.com}
                """.formatted(secret("pw", PASSWORD)));
        CliRun c = CliRun.run(pg.env(DB), dir, "monitor", "--config", clearPassword.toString(), "--target", "prod");
        assertEquals(64, c.exitCode(), c.toString());
        assertTrue(c.err().contains("would send its password in clear"), c.err());
        assertFalse(c.err().contains(PASSWORD) || c.out().contains(PASSWORD));
    }
}
