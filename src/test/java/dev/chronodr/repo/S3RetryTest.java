package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.chronodr.core.Environment;

/**
 * 5xx and SlowDown answers: retried with backoff by the SDK's standard strategy, a bounded
 * number of times, then one line. A tiny HTTP server on a loopback port plays a struggling
 * S3 endpoint (S3Proxy cannot be made to fail on demand).
 */
class S3RetryTest {
    private HttpServer http;
    private final AtomicInteger requests = new AtomicInteger();

    private S3Storage struggling(int failures, int status, String code) throws IOException {
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/", (HttpExchange x) -> {
            x.getRequestBody().readAllBytes();
            int n = requests.incrementAndGet();
            if (n <= failures) {
                byte[] body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>try later</Message></Error>")
                        .getBytes(StandardCharsets.UTF_8);
                x.getResponseHeaders().add("Content-Type", "application/xml");
                x.sendResponseHeaders(status, body.length);
                x.getResponseBody().write(body);
            } else {
                x.getResponseHeaders().add("ETag", "\"0\"");
                x.sendResponseHeaders(200, -1);
            }
            x.close();
        });
        http.start();
        Map<String, String> env = Map.of("AWS_ACCESS_KEY_ID", "k", "AWS_SECRET_ACCESS_KEY", "s",
                "AWS_ENDPOINT_URL", "http://127.0.0.1:" + http.getAddress().getPort(), "AWS_REGION", "us-east-1");
        return new S3Storage(RepoLocation.parse("s3://bucket/prefix", new Environment(env, Path.of("/"))));
    }

    @AfterEach
    void stop() {
        if (http != null) {
            http.stop(0);
        }
    }

    @Test
    void slowDownTwiceThenStored() throws Exception {
        S3Storage s = struggling(2, 503, "SlowDown");
        Storage.Written w = s.write("ID/file", out -> out.write("data".getBytes()));
        assertEquals(4, w.size());
        assertEquals(3, requests.get(), "two refusals, then the PUT that went through");
    }

    @Test
    void aServerThatKeepsFailingEndsInOneLineAfterBoundedAttempts() {
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            S3Storage s = struggling(Integer.MAX_VALUE, 500, "InternalError");
            return assertThrows(IOException.class, () -> s.write("ID/file", out -> out.write("data".getBytes())));
        });
        assertEquals(4, requests.get(), "the SDK's standard strategy, 4 attempts, then stop");
        assertTrue(e.getMessage().startsWith("server error after 4 attempts"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
