package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.Environment;

/**
 * The lease's pause is only for servers whose conditional writes are known to be atomic and
 * that refuse a second one. A small in-memory S3 endpoint plays either kind: one that refuses
 * a conditional write over an existing object (AWS S3, recent MinIO), one that accepts it
 * (S3Proxy 2.6). A server that refuses but is not declared atomic (S3Proxy 2.9 refuses, yet
 * two racing writers both succeed) gets the pause. All keep one writer.
 */
class ObjectLeaseTest {
    private HttpServer http;
    private final Map<String, byte[]> objects = new ConcurrentHashMap<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final List<String> payloadHashes = new CopyOnWriteArrayList<>();
    private final List<String> contentMd5s = new CopyOnWriteArrayList<>();

    private S3Storage server(boolean honoursIfNoneMatch) throws IOException {
        return server(honoursIfNoneMatch, true);
    }

    private S3Storage server(boolean honoursIfNoneMatch, Boolean declaredAtomic) throws IOException {
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/", (HttpExchange x) -> {
            String key = x.getRequestURI().getPath();
            String method = x.getRequestMethod();
            byte[] body = x.getRequestBody().readAllBytes();
            requests.add(method + " " + key);
            if ("PUT".equals(method)) {
                payloadHashes.add(x.getRequestHeaders().getFirst("x-amz-content-sha256"));
                contentMd5s.add(String.valueOf(x.getRequestHeaders().getFirst("Content-MD5")));
            }
            byte[] held = objects.get(key);
            switch (method) {
                case "PUT" -> {
                    if (honoursIfNoneMatch && "*".equals(x.getRequestHeaders().getFirst("If-None-Match")) && held != null) {
                        error(x, 412, "PreconditionFailed");
                        return;
                    }
                    objects.put(key, decoded(x, body));
                    x.getResponseHeaders().add("ETag", "\"1\"");
                    x.sendResponseHeaders(200, -1);
                }
                case "HEAD" -> {
                    if (held == null) {
                        x.sendResponseHeaders(404, -1);
                    } else {
                        x.getResponseHeaders().add("Content-Length", String.valueOf(held.length));
                        x.getResponseHeaders().add("ETag", "\"1\"");
                        x.sendResponseHeaders(200, -1);
                    }
                }
                case "GET" -> {
                    if (held == null) {
                        error(x, 404, "NoSuchKey");
                        return;
                    }
                    x.sendResponseHeaders(200, held.length);
                    x.getResponseBody().write(held);
                }
                case "DELETE" -> {
                    objects.remove(key);
                    x.sendResponseHeaders(204, -1);
                }
                default -> x.sendResponseHeaders(405, -1);
            }
            x.close();
        });
        http.start();
        Map<String, String> env = Map.of("AWS_ACCESS_KEY_ID", "k", "AWS_SECRET_ACCESS_KEY", "s",
                "AWS_ENDPOINT_URL", "http://127.0.0.1:" + http.getAddress().getPort(), "AWS_REGION", "us-east-1");
        return new S3Storage(RepoLocation.parse("s3://bucket/prefix", new Environment(env, Path.of("/")),
                S3Settings.resolve(new Environment(env, Path.of("/")), new S3Settings.Declared(null, null, null, null, null, declaredAtomic, null))));
    }

    private static void error(HttpExchange x, int status, String code) throws IOException {
        byte[] b = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>no</Message></Error>")
                .getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().add("Content-Type", "application/xml");
        x.sendResponseHeaders(status, b.length);
        x.getResponseBody().write(b);
        x.close();
    }

    /** The SDK may send the body aws-chunked (signed chunks): store the payload. */
    private static byte[] decoded(HttpExchange x, byte[] body) {
        String sha = x.getRequestHeaders().getFirst("x-amz-content-sha256");
        if (sha == null || !sha.startsWith("STREAMING-")) {
            return body;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < body.length) {
            int eol = indexOf(body, i);
            String header = new String(body, i, eol - i, StandardCharsets.US_ASCII);
            int len = Integer.parseInt(header.split(";")[0].trim(), 16);
            i = eol + 2;
            if (len == 0) {
                break;
            }
            out.write(body, i, len);
            i += len + 2;
        }
        return out.toByteArray();
    }

    private static int indexOf(byte[] b, int from) {
        for (int i = from; i + 1 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') {
                return i;
            }
        }
        return b.length;
    }

    @AfterEach
    void stop() {
        if (http != null) {
            http.stop(0);
        }
    }

    private long reads() {
        return requests.stream().filter(r -> r.startsWith("GET ")).count();
    }

    @Test
    void aServerThatHonoursIfNoneMatchGivesTheLeaseWithoutThePauseAndStillOneWriter() throws Exception {
        S3Storage s = server(true);
        RepoLock first = ObjectLease.acquire(s, ".locks/db.lease", "backup of database db", Duration.ofMinutes(1));
        try {
            assertEquals(0, reads(), "no read-back: the second conditional write was refused, so the first was exclusive " + requests);
            assertTrue(objects.containsKey("/bucket/prefix/.locks/db.lease"), objects.keySet().toString());
            ChronoException busy = assertThrows(ChronoException.class,
                    () -> ObjectLease.acquire(s, ".locks/db.lease", "backup of database db", Duration.ofMinutes(1)));
            assertTrue(busy.getMessage().startsWith("another backup of database db is running (pid "), busy.getMessage());
        } finally {
            first.close();
        }
        assertFalse(objects.containsKey("/bucket/prefix/.locks/db.lease"), "the lease is removed on close");
    }

    @Test
    void aServerThatRefusesButIsNotKnownToBeAtomicGetsThePauseAndTheReadBack() throws Exception {
        S3Storage s = server(true, null); // an endpoint of its own, nothing declared: not AWS S3
        long start = System.nanoTime();
        RepoLock first = ObjectLease.acquire(s, ".locks/db.lease", "backup of database db", Duration.ofMinutes(1));
        try {
            assertEquals(1, requests.stream().filter(r -> r.startsWith("PUT ")).count(), "no probe is sent: its 412 would prove nothing " + requests);
            s.create("db/first-object", out -> out.write(1)); // a change others can see: it waits for the read-back
            assertEquals(1, reads(), "the lease was read back after the pause " + requests);
            assertTrue(System.nanoTime() - start >= 1_400_000_000L, "the pause was taken before the object was written");
            assertThrows(ChronoException.class, () -> ObjectLease.acquire(s, ".locks/db.lease", "backup of database db", Duration.ofMinutes(1)));
        } finally {
            first.close();
        }
    }

    @Test
    void thePauseRunsBesideTheWorkAndNothingVisibleIsWrittenBeforeItEnds() throws Exception {
        S3Storage s = server(false);
        s.info("warm-up"); // the SDK's first request loads its classes: not what is timed here
        requests.clear();
        long start = System.nanoTime();
        RepoLock first = ObjectLease.acquire(s, ".locks/db.lease", "backup of database db", Duration.ofMinutes(1));
        try {
            long returned = System.nanoTime() - start;
            assertTrue(returned < 1_000_000_000L, "the lease is returned before the pause ends: " + returned / 1_000_000 + " ms");
            assertEquals(0, reads(), "not read back yet " + requests);
            s.create("db/id/manifest.json", out -> out.write(new byte[] {'{', '}'}));
            long written = System.nanoTime() - start;
            assertTrue(written >= 1_400_000_000L, "the object waited for the lease's proof: " + written / 1_000_000 + " ms");
            assertTrue(objects.containsKey("/bucket/prefix/db/id/manifest.json"), objects.keySet().toString());
            long again = System.nanoTime();
            s.delete("db/id/manifest.json");
            assertTrue(System.nanoTime() - again < 1_000_000_000L, "once proven, nothing waits");
        } finally {
            first.close();
        }
        assertFalse(objects.containsKey("/bucket/prefix/.locks/db.lease"), "the lease is removed on close");
    }

    @Test
    void aRunWhoseLeaseIsTakenDuringThePauseChangesNothingAndSaysWhy() throws Exception {
        S3Storage s = server(false);
        objects.put("/bucket/prefix/db/id/database.dump.zst", "the winner's dump".getBytes(StandardCharsets.UTF_8));
        RepoLock loser = ObjectLease.acquire(s, ".locks/db.lease", "backup of database db", Duration.ofMinutes(1));
        try {
            // a racing writer's lease lands last: the last write wins (what a server that checks, then writes, allows)
            String winner = "{\"owner\":\"pid 7 on other-host\",\"token\":\"theirs\",\"expires\":\"2999-01-01T00:00:00Z\"}";
            objects.put("/bucket/prefix/.locks/db.lease", winner.getBytes(StandardCharsets.UTF_8));
            ChronoException write = assertThrows(ChronoException.class,
                    () -> s.write("db/id/database.dump.zst", out -> out.write("the loser's dump".getBytes(StandardCharsets.UTF_8))));
            assertTrue(write.getMessage().startsWith("another backup of database db is running (pid 7 on other-host"), write.getMessage());
            ChronoException delete = assertThrows(ChronoException.class, () -> s.delete("db/id/database.dump.zst"));
            assertTrue(delete.getMessage().startsWith("another backup of database db is running"), delete.getMessage());
            assertEquals("the winner's dump", new String(objects.get("/bucket/prefix/db/id/database.dump.zst"), StandardCharsets.UTF_8),
                    "the winner's object is neither replaced nor deleted");
        } finally {
            loser.close();
        }
        assertTrue(new String(objects.get("/bucket/prefix/.locks/db.lease"), StandardCharsets.UTF_8).contains("theirs"),
                "the loser leaves the winner's lease alone");
    }

    @Test
    void aLargeUploadStopsAtItsFirstPartOnceTheLeaseIsLostAndStartsNoUpload() throws Exception {
        S3Storage s = server(false);
        RepoLock loser = ObjectLease.acquire(s, ".locks/db.lease", "backup of database db", Duration.ofMinutes(1));
        try {
            objects.put("/bucket/prefix/.locks/db.lease",
                    "{\"owner\":\"pid 7 on other-host\",\"token\":\"theirs\",\"expires\":\"2999-01-01T00:00:00Z\"}".getBytes(StandardCharsets.UTF_8));
            Thread.sleep(2000); // the read-back has found the other writer's lease
            requests.clear();
            byte[] part = new byte[1 << 20];
            ChronoException lost = assertThrows(ChronoException.class, () -> s.write("db/id/database.dump.zst", out -> {
                for (int i = 0; i < 40; i++) { // 40 MB: more than a part
                    out.write(part);
                }
            }));
            assertTrue(lost.getMessage().startsWith("another backup of database db is running"), lost.getMessage());
            assertEquals(List.of(), requests, "no multipart upload was started, no part sent");
        } finally {
            loser.close();
        }
    }

    @Test
    void theHoldBackEndsWithItsLock() throws Exception {
        S3Storage s = server(false);
        // closed before its proof: later changes (a copy's WAL after its backups) neither wait nor fail
        ObjectLease.acquire(s, ".locks/a.lease", "backup of database a", Duration.ofMinutes(1)).close();
        Thread.sleep(2000); // its read-back finds no lease and fails, after the close
        long t = System.nanoTime();
        s.create("wal/one", out -> out.write(1));
        assertTrue(System.nanoTime() - t < 1_000_000_000L, "no wait for a closed lock's proof");
        // lost, then closed: the same
        RepoLock lost = ObjectLease.acquire(s, ".locks/b.lease", "backup of database b", Duration.ofMinutes(1));
        objects.put("/bucket/prefix/.locks/b.lease",
                "{\"owner\":\"other\",\"token\":\"theirs\",\"expires\":\"2999-01-01T00:00:00Z\"}".getBytes(StandardCharsets.UTF_8));
        assertThrows(ChronoException.class, () -> s.create("b/id/x", out -> out.write(1)));
        lost.close();
        s.create("wal/two", out -> out.write(2));
        assertTrue(objects.containsKey("/bucket/prefix/wal/one") && objects.containsKey("/bucket/prefix/wal/two"), objects.keySet().toString());
    }

    @Test
    void bodiesGoWithTheirMd5NotInSignedChunks() throws Exception {
        S3Storage s = server(false);
        byte[] body = "a body of some bytes".getBytes(StandardCharsets.UTF_8);
        s.write("db/id/globals.sql.zst", out -> out.write(body));
        String md5 = java.util.Base64.getEncoder().encodeToString(java.security.MessageDigest.getInstance("MD5").digest(body));
        assertEquals(List.of("UNSIGNED-PAYLOAD"), payloadHashes, "SigV4 over the headers (plain HTTP here), not aws-chunked framing");
        assertEquals(List.of(md5), contentMd5s, "the body's MD5, for the server to check");
        assertArrayEquals(body, objects.get("/bucket/prefix/db/id/globals.sql.zst"));
    }

    @Test
    void onlyAwsItselfIsTrustedWithoutBeingTold() {
        Map<String, String> aws = Map.of("AWS_REGION", "eu-west-1");
        assertTrue(S3Settings.resolve(new Environment(aws, Path.of("/")), S3Settings.Declared.NONE).atomicConditionalWrites(), "AWS S3: no endpoint");
        assertFalse(S3Settings.resolve(new Environment(Map.of("AWS_ENDPOINT_URL", "http://minio:9000"), Path.of("/")), S3Settings.Declared.NONE)
                .atomicConditionalWrites(), "an endpoint of its own is not trusted unless the config says so");
        assertTrue(S3Settings.resolve(new Environment(Map.of(), Path.of("/")), new S3Settings.Declared("http://minio:9000", null, null, null, null, true, null)).atomicConditionalWrites());
        assertFalse(S3Settings.resolve(new Environment(aws, Path.of("/")), new S3Settings.Declared(null, null, null, null, null, false, null)).atomicConditionalWrites(), "the config can also say no");
    }

    @Test
    void aServerThatIgnoresItGetsThePauseAndTheReadBack() throws Exception {
        S3Storage s = server(false);
        RepoLock first = ObjectLease.acquire(s, ".locks/db.lease", "backup of database db", Duration.ofMinutes(1));
        try {
            s.delete("db/nothing-there"); // a change others can see: it waits for the read-back
            assertEquals(1, reads(), "the lease is read back after the pause " + requests);
            String lease = new String(objects.get("/bucket/prefix/.locks/db.lease"), StandardCharsets.UTF_8);
            assertTrue(lease.contains("\"token\""), "the probe left the lease as it was: " + lease);
            assertThrows(ChronoException.class, () -> ObjectLease.acquire(s, ".locks/db.lease", "backup of database db", Duration.ofMinutes(1)));
        } finally {
            first.close();
        }
    }
}
