package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import software.amazon.awssdk.services.s3.S3Client;

import dev.chronodr.core.Environment;
import dev.chronodr.testing.CliRun;
import dev.chronodr.testing.PgCluster;
import dev.chronodr.testing.PostgresTest;
import dev.chronodr.testing.S3Server;
import dev.chronodr.testing.TamperingRelay;

/**
 * Bodies go over plain HTTP unsigned but with their Content-MD5 (ContentMd5Signer): a byte
 * changed on the way is refused by the server, sent again, and when it keeps changing the
 * upload fails in one line with nothing stored. A relay in front of S3Proxy plays the faulty
 * network path.
 */
@PostgresTest
class S3BodyIntegrityTest {
    private static final String BUCKET = "integrity";
    @RegisterExtension
    static final S3Server server = S3Server.perClass(BUCKET);
    private final PgCluster pg;
    @TempDir
    Path dir;

    S3BodyIntegrityTest(PgCluster pg) {
        this.pg = pg;
    }

    private static Map<String, String> env(TamperingRelay relay) {
        Map<String, String> env = new HashMap<>(server.env());
        env.put("AWS_ENDPOINT_URL", "http://127.0.0.1:" + relay.port());
        return env;
    }

    private static TamperingRelay relay(int budget) throws IOException {
        return TamperingRelay.start(URI.create(server.endpoint()).getPort(), budget);
    }

    private static S3Storage storage(TamperingRelay relay, String prefix) {
        return new S3Storage(RepoLocation.parse("s3://" + BUCKET + "/" + prefix, new Environment(env(relay), Path.of("/"))));
    }

    private static byte[] random(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    private static List<String> openUploads() {
        try (S3Client c = server.client()) {
            return c.listMultipartUploads(r -> r.bucket(BUCKET)).uploads().stream().map(u -> u.key()).toList();
        }
    }

    @Test
    void bodiesGoUnsignedWithTheirMd5AndOneChangedOnTheWayIsSentAgain() throws Exception {
        byte[] multipart = random((S3Storage.PART_SIZE_MB << 20) + 3_000_000);
        byte[] small = random(300_000);
        try (TamperingRelay relay = relay(1); TamperingRelay other = relay(1)) {
            S3Storage s3 = storage(relay, "once");
            s3.write("big", out -> out.write(multipart));
            assertEquals(1, relay.tampered(), "the relay changed the first part once");
            storage(other, "once").write("small", out -> out.write(small));
            assertEquals(1, other.tampered(), "and the small object's one PUT once");
            try (InputStream in = s3.read("big")) {
                assertArrayEquals(multipart, in.readAllBytes(), "the stored object is the bytes sent, not the changed ones");
            }
            try (InputStream in = s3.read("small")) {
                assertArrayEquals(small, in.readAllBytes());
            }
            assertEquals(2, other.puts().size(), "the small object's PUT went again: " + other.puts());
            List<Map<String, String>> bodies = java.util.stream.Stream.concat(relay.puts().stream(), other.puts().stream()).filter(h -> Long.parseLong(h.getOrDefault("content-length", "0")) > 0).toList();
            assertFalse(bodies.isEmpty());
            for (Map<String, String> h : bodies) {
                assertEquals("UNSIGNED-PAYLOAD", h.get("x-amz-content-sha256"), h::toString);
                assertTrue(h.containsKey("content-md5"), h::toString);
                assertTrue(h.get("authorization").contains("content-md5"), "the signature covers the MD5: " + h);
            }
        }
    }

    @Test
    void aBodyChangedEveryTimeFailsInOneLineAndStoresNothing() throws Exception {
        try (TamperingRelay relay = relay(Integer.MAX_VALUE)) {
            S3Storage s3 = storage(relay, "always");
            IOException big = assertThrows(IOException.class, () -> s3.write("big", out -> out.write(random((S3Storage.PART_SIZE_MB << 20) + 1000))));
            assertTrue(big.getMessage().contains("received other bytes than were sent"), big::getMessage);
            assertFalse(big.getMessage().contains("\n"), big::getMessage);
            IOException small = assertThrows(IOException.class, () -> s3.write("small", out -> out.write(random(5000))));
            assertTrue(small.getMessage().contains("BadDigest"), small::getMessage);
            assertEquals(List.of(), server.keys(BUCKET).stream().filter(k -> k.startsWith("always/")).toList(), "nothing stored");
            assertEquals(List.of(), openUploads().stream().filter(k -> k.startsWith("always/")).toList(), "the multipart upload was aborted");
        }
    }

    @Test
    void aBackupWhoseBodiesKeepChangingFailsAndListsNothing() throws Exception {
        String db = "integrity_db";
        pg.execute("postgres", "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE items AS SELECT g AS id, md5(g::text) AS name FROM generate_series(1, 20000) g");
        try (TamperingRelay relay = relay(Integer.MAX_VALUE)) {
            Map<String, String> env = new HashMap<>(pg.env(db));
            env.putAll(env(relay));
            String repo = "s3://" + BUCKET + "/cli";
            CliRun b = CliRun.run(env, dir, "backup", "--repo", repo);
            assertEquals(1, b.exitCode(), b::toString);
            assertTrue(b.err().contains("chrono-dr: pg_dump stream failed: the server received other bytes than were sent"), b::toString);
            assertEquals(1, b.err().strip().lines().filter(l -> l.startsWith("chrono-dr:")).count(), b::toString);
            assertTrue(relay.tampered() > 0);
            CliRun l = CliRun.run(env, dir, "list", "--repo", repo, "--format", "json");
            assertEquals(0, l.exitCode(), l::toString);
            assertEquals(0, l.json().get("backups").size(), "nothing looks committed: " + l);
        }
    }
}
