package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.chronodr.core.Environment;
import dev.chronodr.testing.S3Server;
import dev.chronodr.testing.TamperingRelay;

/**
 * A server that hangs (S3Proxy stopped with SIGSTOP: its port still accepts connections,
 * nothing answers, nothing is read): a request that waits for an answer, and one whose body
 * the server stops taking, each fail after the I/O bound (2 s here, 120 s in use) and its
 * retries, in one line, and nothing is stored. Without the bound on writes, an upload to a
 * hung server waited 10 minutes per attempt.
 */
class S3HungServerTest {
    private static final String BUCKET = "hung";
    private static final Duration BOUND = Duration.ofSeconds(2);
    @RegisterExtension
    static final S3Server server = S3Server.perClass(BUCKET);
    @RegisterExtension
    static final S3Server tlsServer = S3Server.perClassTls(BUCKET);

    private static S3Storage storage(String prefix) {
        return new S3Storage(RepoLocation.parse("s3://" + BUCKET + "/" + prefix, new Environment(server.env(), Path.of("/"))), BOUND);
    }

    private static byte[] random(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    /** Runs {@code failing} against the paused server; returns its failure and how long it took. */
    private static IOException whilePaused(org.junit.jupiter.api.function.Executable failing, Duration[] took) throws Exception {
        server.pause();
        long start = System.nanoTime();
        try {
            return assertThrows(IOException.class, failing);
        } finally {
            took[0] = Duration.ofNanos(System.nanoTime() - start);
            server.resume();
        }
    }

    /**
     * The keys under a prefix once the resumed server has dealt with what reached it while
     * stopped: a body it had partly received shows as a temporary object until the server
     * sees the connection gone.
     */
    private static List<String> settledKeysUnder(String prefix) throws InterruptedException {
        List<String> keys = List.of();
        for (long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos(); System.nanoTime() < deadline; Thread.sleep(200)) {
            keys = server.keys(BUCKET).stream().filter(k -> k.startsWith(prefix)).toList();
            if (keys.isEmpty()) {
                break;
            }
        }
        return keys;
    }

    @Test
    void aBodyTheServerStopsTakingFailsAfterTheBoundNotTheAttemptTimeout() throws Exception {
        S3Storage s3 = storage("write");
        byte[] body = random((S3Storage.PART_SIZE_MB << 20) - 1); // one PUT, more than the socket buffers hold
        Duration[] took = new Duration[1];
        IOException e = whilePaused(() -> s3.write("dump", out -> out.write(body)), took);
        assertTrue(e.getMessage().contains("the server took no data for 2 s (hung?)"), e::getMessage);
        assertFalse(e.getMessage().contains("\n"), e::getMessage);
        assertTrue(took[0].compareTo(Duration.ofSeconds(60)) < 0, "4 attempts of about 2 s, not 10 minutes each: " + took[0]);

        // Right after, the next request is not sent: it would wait out the same silence.
        long start = System.nanoTime();
        IOException next = assertThrows(IOException.class, () -> s3.exists("dump"));
        assertTrue(next.getMessage().contains("not asked again for 2 s"), next::getMessage);
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(BOUND) < 0, "at once");
        assertEquals(List.of(), settledKeysUnder("write/"), "nothing stored");

        // After the bound, with the server going again, the same storage works: nothing was left wedged.
        Thread.sleep(BOUND.toMillis());
        s3.write("dump", out -> out.write(body));
        try (InputStream in = s3.read("dump")) {
            assertArrayEquals(body, in.readAllBytes());
        }
    }

    @Test
    void aBodyWriteThatBlocksMidStreamIsAbortedOverPlainHttpAndOverTls() throws Exception {
        byte[] body = random((S3Storage.PART_SIZE_MB << 20) - 1);
        for (S3Server target : List.of(server, tlsServer)) {
            boolean tls = target.endpoint().startsWith("https");
            // the server answers (100 Continue too), but after 1 MB of each connection nothing more is read from the client
            try (TamperingRelay relay = TamperingRelay.stallingAfter(java.net.URI.create(target.endpoint()).getPort(), 1 << 20)) {
                Map<String, String> env = new HashMap<>(target.env());
                env.put("AWS_ENDPOINT_URL", (tls ? "https" : "http") + "://127.0.0.1:" + relay.port());
                env.put("AWS_CA_BUNDLE", tls ? target.caBundle().toString() : "");
                if (!tls) {
                    env.remove("AWS_CA_BUNDLE");
                }
                S3Storage s3 = new S3Storage(RepoLocation.parse("s3://" + BUCKET + "/midstream", new Environment(env, Path.of("/"))), BOUND);
                long start = System.nanoTime();
                // over TLS, closing the connection under the blocked write used to wait for ever: bounded here
                IOException e = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(90),
                        () -> assertThrows(IOException.class, () -> s3.write("stalled", out -> out.write(body))), () -> target.endpoint());
                assertTrue(e.getMessage().contains("the server took no data for 2 s (hung?)"), e::getMessage);
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertTrue(took.compareTo(Duration.ofSeconds(45)) < 0, target.endpoint() + ": " + took);
                assertTrue(relay.connections() >= 2, "retried on a new connection: " + relay.connections());
            }
        }
    }

    @Test
    void aRequestTheServerNeverAnswersFailsAfterTheBound() throws Exception {
        S3Storage s3 = storage("read");
        s3.write("small", out -> out.write(random(1000)));
        Duration[] took = new Duration[1];
        IOException e = whilePaused(() -> s3.list(""), took);
        assertTrue(e.getMessage().contains("cannot reach") && e.getMessage().contains("timed out"), e::getMessage);
        assertTrue(took[0].compareTo(Duration.ofSeconds(60)) < 0, took[0]::toString);
        Thread.sleep(BOUND.toMillis());
        assertEquals(1, s3.list("").size(), "answered again once it goes on");
    }

    @Test
    void aBackupCutShortByAHungServerWaitsOutTheSilenceOnceNotForEachCleanUp() throws Exception {
        S3Storage s3 = storage("cleanup");
        RepoLock lease = ObjectLease.acquire(s3, ".locks/db.lease", "backup of database db", Duration.ofMinutes(1));
        long[] pausedAt = new long[1];
        try {
            Exception e = assertThrows(Exception.class, () -> s3.write("db/id/database.dump.zst", out -> {
                out.write(random(S3Storage.PART_SIZE_MB << 20)); // the first part goes up while the next fills
                try {
                    server.pause();
                } catch (Exception x) {
                    throw new IOException(x);
                }
                pausedAt[0] = System.nanoTime();
                out.write(random(1 << 20));
            }));
            // the part, or the read-back that proves the lease (S3Proxy ignores If-None-Match), meets the silence first
            assertTrue(e.getMessage().contains("cannot reach"), e::getMessage);
            lease.close(); // reading the lease back before removing it: not sent, a warning
            Duration took = Duration.ofNanos(System.nanoTime() - pausedAt[0]);
            // one request's 4 attempts of about 2 s; the abort of the upload and the lease's read-back add nothing
            // (each would have waited out its own 4 attempts: 24 s and more)
            assertTrue(took.compareTo(Duration.ofSeconds(16)) < 0, "the silence was waited out once: " + took);
        } finally {
            server.resume();
        }
        Thread.sleep(BOUND.toMillis());
        assertFalse(settledKeysUnder("cleanup/db/").contains("cleanup/db/id/database.dump.zst"), "nothing committed");
    }
}
