package dev.chronodr.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;

/**
 * A webhook that answers its headers at once and then drips its body, a byte a second,
 * cannot hold the monitor: one deadline covers the whole exchange, and the report is
 * printed with the alert's failure in it.
 */
@PostgresTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebhookDeadlineTest {
    private static final String DB = "webhook_deadline";
    private PgCluster pg;
    private ServerSocket server;
    private Thread peer;
    private final CountDownLatch posted = new CountDownLatch(1);
    @TempDir
    Path dir;

    @BeforeAll
    void database(PgCluster pg) {
        this.pg = pg;
        pg.createDatabase(DB);
    }

    @AfterEach
    void stopPeer() throws Exception {
        if (server != null) {
            server.close();
        }
        if (peer != null) {
            peer.interrupt();
            peer.join(5000);
        }
    }

    /** Reads the request, sends 200 with a long Content-Length, then one byte per second until told to stop. */
    private String startDrippingPeer() throws IOException {
        server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        peer = new Thread(() -> {
            try (Socket s = server.accept()) {
                readRequest(s.getInputStream());
                posted.countDown();
                OutputStream out = s.getOutputStream();
                out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                while (!Thread.currentThread().isInterrupted()) {
                    out.write('.');
                    out.flush();
                    Thread.sleep(1000);
                }
            } catch (IOException | InterruptedException e) {
                // the client gave up (closed the connection) or the test is over
            }
        }, "dripping-webhook");
        peer.setDaemon(true);
        peer.start();
        return "http://127.0.0.1:" + server.getLocalPort() + "/services/T000/B000/secret-token";
    }

    /** Headers up to the blank line, then Content-Length bytes of body. */
    private static void readRequest(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                return;
            }
            head.append((char) b);
        }
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                in.readNBytes(Integer.parseInt(line.substring(15).trim()));
            }
        }
    }

    @Test
    void aWebhookThatDripsItsBodyCannotHoldTheMonitor() throws Exception {
        String url = startDrippingPeer();
        long t0 = System.nanoTime();
        CliRun r = assertTimeoutPreemptively(Duration.ofSeconds(40), () -> CliRun.run(pg.env(DB), dir, "monitor",
                "--check", "connection,connections", "--warning", "connections=0.1%", "--alert-webhook", url));
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        assertTrue(posted.await(0, TimeUnit.SECONDS), "the webhook got the POST");
        assertTrue(seconds <= 15, "finished in " + seconds + " s: the 10 s deadline covers the body");
        assertEquals(1, r.exitCode(), "the checks decide the exit code (WARNING), not the webhook: " + r);
        assertTrue(r.out().contains("WARNING  connections "), "the report is printed: " + r.out());
        String alert = r.out().lines().filter(l -> l.startsWith("alert: ")).findFirst().orElseThrow(() -> new AssertionError(r.out()));
        assertTrue(alert.startsWith("alert: FAILED to send to http://127.0.0.1:" + server.getLocalPort() + ": "), alert);
        assertTrue(alert.contains("no complete answer within 10 s"), alert);
        assertTrue(!r.out().contains("secret-token"), "the webhook's secret path is never printed");
    }

    @Test
    void theDeadlineComesFromTheConfigAndJsonCarriesTheFailure() throws Exception {
        String url = startDrippingPeer();
        Path config = java.nio.file.Files.writeString(dir.resolve("c.yaml"), """
                targets:
                  drip:
                    monitor:
                      alert:
                        webhook: %s
                        timeout: 2s
                """.formatted(url));
        long t0 = System.nanoTime();
        CliRun r = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> CliRun.run(pg.env(DB), dir, "monitor", "--config",
                config.toString(), "--format", "json", "--check", "connections", "--warning", "connections=0.1%"));
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        assertTrue(seconds <= 7, "finished in " + seconds + " s with a 2 s deadline");
        assertEquals(1, r.exitCode(), r.toString());
        assertEquals("WARNING", r.json().get("status").asText());
        assertTrue(!r.json().at("/alert/sent").asBoolean(), r.toString());
        assertTrue(r.json().at("/alert/detail").asText().contains("no complete answer within 2 s"), r.toString());
    }
}
