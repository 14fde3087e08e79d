package dev.chronodr.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.github.luben.zstd.ZstdInputStream;

import dev.chronodr.core.Environment;
import dev.chronodr.repo.Repository;
import dev.chronodr.testing.CliRun;

/**
 * wal-push handing segments to a wal-archiver, without a server: what the daemon acknowledges is
 * stored; what it refuses is refused with wal-push's own exit code; a daemon that dies after taking
 * a segment, a dead daemon's socket and no daemon at all leave wal-push to store the segment
 * itself; a second daemon on one repository is refused.
 */
class ArchiverHandoffTest {
    private static final String SEG = "000000010000000000000007";

    @TempDir
    Path tmp;

    private final List<String> log = new CopyOnWriteArrayList<>();

    private static byte[] segment(long seed) {
        byte[] b = new byte[1 << 20];
        new Random(seed).nextBytes(b);
        return b;
    }

    private Map<String, String> env() {
        return Map.of("PATH", System.getenv("PATH"));
    }

    private Path repo() {
        return tmp.resolve("repo");
    }

    private Path socket() {
        return repo().resolve("wal/.archiver.sock");
    }

    private CliRun push(String file) {
        return CliRun.run(env(), tmp.resolve("data"), "wal-push", "--repo", repo().toString(), file);
    }

    private byte[] archived(String name) throws Exception {
        try (InputStream in = new ZstdInputStream(Files.newInputStream(repo().resolve("wal/00000001/" + name + ".zst")))) {
            return in.readAllBytes();
        }
    }

    /** A daemon in this JVM; stopped (as SIGTERM does) and its summary returned by the function. */
    private record Running(ArchiverDaemon.Stop stop, CompletableFuture<ArchiverResult> result) {
        ArchiverResult stopNow() throws Exception {
            stop.request();
            return result.get(30, TimeUnit.SECONDS);
        }
    }

    private Running startDaemon() throws Exception {
        Repository r = new Repository(repo());
        ArchiverDaemon.Stop stop = new ArchiverDaemon.Stop();
        CompletableFuture<ArchiverResult> f = CompletableFuture.supplyAsync(() -> new ArchiverDaemon(r, ArchiverEndpoint.of(r, null), log::add).run(stop));
        for (int i = 0; i < 500 && log.stream().noneMatch(l -> l.contains("serving")); i++) {
            assertFalse(f.isDone(), () -> "the daemon stopped: " + f.handle((v, e) -> v + " " + e).join());
            Thread.sleep(10);
        }
        return new Running(stop, f);
    }

    @Test
    void theDaemonStoresWhatItAcknowledgesAndRefusesWhatWalPushWouldRefuse() throws Exception {
        Path pgwal = Files.createDirectories(tmp.resolve("data/pg_wal"));
        byte[] content = segment(1);
        Files.write(pgwal.resolve(SEG), content);
        Running d = startDaemon();
        try {
            CliRun second = CliRun.run(env(), tmp, "wal-archiver", "--repo", repo().toString());
            assertEquals(64, second.exitCode(), second::toString);
            assertTrue(second.err().contains("another wal-archiver already serves"), second::toString);
            assertTrue(Files.exists(socket()), "the second daemon left the first one's socket alone");

            CliRun first = push("pg_wal/" + SEG);
            assertEquals(0, first.exitCode(), first::toString);
            assertTrue(first.out().contains(SEG + " archived"), first::toString);
            assertArrayEquals(content, archived(SEG));
            assertTrue(log.stream().anyMatch(l -> l.startsWith("wal-archiver: " + SEG + " archived (1048576 -> ")), "stored by the daemon: " + log);

            // the fast path main() takes before picocli: same answer, same output
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int rc = ArchiverClient.fastPush(new String[] {"wal-push", "--repo", repo().toString(), "pg_wal/" + SEG},
                    new PrintWriter(out), new PrintWriter(err), new Environment(env(), tmp.resolve("data")));
            assertEquals(0, rc, err::toString);
            assertTrue(out.toString().contains("already archived with the same content"), out::toString);

            Files.write(pgwal.resolve(SEG), segment(2));
            CliRun clash = push("pg_wal/" + SEG);
            assertEquals(1, clash.exitCode(), clash::toString);
            assertTrue(clash.err().contains("different content"), clash::toString);
            assertArrayEquals(content, archived(SEG), "the archived copy is untouched");
            int fastClash = ArchiverClient.fastPush(new String[] {"wal-push", "--repo=" + repo(), "pg_wal/" + SEG},
                    new PrintWriter(out), new PrintWriter(err), new Environment(env(), tmp.resolve("data")));
            assertEquals(1, fastClash, err::toString);
            assertTrue(err.toString().contains("different content"), err::toString);

            CliRun missing = push("pg_wal/000000010000000000000008");
            assertEquals(1, missing.exitCode(), missing::toString);
            assertFalse(Files.exists(repo().resolve("wal/00000001/000000010000000000000008.zst")));
        } finally {
            ArchiverResult r = d.stopNow();
            assertEquals(1, r.archived(), r::toString);
            assertEquals(1, r.alreadyArchived(), r::toString);
            assertEquals(3, r.failed(), r::toString);
        }
        assertFalse(Files.exists(socket(), java.nio.file.LinkOption.NOFOLLOW_LINKS), "a stopped daemon removes its socket");
    }

    @Test
    void anEncryptedPushIsNeverHandedToTheDaemonWhichStoresInTheClear() throws Exception {
        Path pgwal = Files.createDirectories(tmp.resolve("data/pg_wal"));
        byte[] content = segment(3);
        Files.write(pgwal.resolve(SEG), content);
        Path pub;
        try (dev.chronodr.testing.Gpg gpg = dev.chronodr.testing.Gpg.create(Files.createDirectories(tmp.resolve("gpg")), "handoff pass")) {
            pub = gpg.exportPublic(gpg.generate("DR <dr@example.org>", "ed25519", "cv25519", "never"), tmp.resolve("dr.pub.asc"));
        }
        Running d = startDaemon();
        try {
            CliRun r = CliRun.run(env(), tmp.resolve("data"), "wal-push", "--repo", repo().toString(), "--encrypt-to", pub.toString(),
                    "pg_wal/" + SEG);
            assertEquals(0, r.exitCode(), r::toString);
        } finally {
            ArchiverResult result = d.stopNow();
            assertEquals(0, result.archived(), "the daemon stored nothing: " + result);
        }
        Path dir = repo().resolve("wal/00000001");
        assertTrue(Files.exists(dir.resolve(SEG + ".zst.gpg")), "stored encrypted by wal-push itself");
        assertFalse(Files.exists(dir.resolve(SEG + ".zst")), "and never in the clear");
        assertFalse(java.util.Arrays.equals(content, Files.readAllBytes(dir.resolve(SEG + ".zst.gpg"))));
    }

    @Test
    void withoutALiveDaemonWalPushStoresTheSegmentItself() throws Exception {
        Path pgwal = Files.createDirectories(tmp.resolve("data/pg_wal"));
        Files.createDirectories(socket().getParent());
        // a dead daemon's socket: bound, then its process gone (nothing listens, the file stays)
        ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        dead.bind(UnixDomainSocketAddress.of(socket()));
        dead.close();
        assertTrue(Files.exists(socket(), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        byte[] a = segment(3);
        Files.write(pgwal.resolve(SEG), a);
        CliRun stale = push("pg_wal/" + SEG);
        assertEquals(0, stale.exitCode(), stale::toString);
        assertArrayEquals(a, archived(SEG));

        // a daemon that takes the segment and dies before storing it: never an OK, so wal-push stores it
        String next = "000000010000000000000008";
        byte[] b = segment(4);
        Files.write(pgwal.resolve(next), b);
        CliRun killed = withFakeDaemon(req -> "ACCEPTED\nWORKING\n", () -> push("pg_wal/" + next));
        assertEquals(0, killed.exitCode(), killed::toString);
        assertTrue(killed.err().contains("went away before it stored " + next), killed::toString);
        assertArrayEquals(b, archived(next));

        // a daemon that answers garbage, or another repository's daemon: wal-push's own answer wins
        String third = "000000010000000000000009";
        Files.write(pgwal.resolve(third), segment(5));
        CliRun garbage = withFakeDaemon(req -> "OK\tnonsense\n", () -> push("pg_wal/" + third));
        assertEquals(0, garbage.exitCode(), garbage::toString);
        assertTrue(Files.exists(repo().resolve("wal/00000001/" + third + ".zst")), "stored by wal-push itself");

        // the daemon's refusal is wal-push's exit code, and nothing is stored behind it
        String fourth = "00000001000000000000000A";
        Files.write(pgwal.resolve(fourth), segment(6));
        CliRun full = withFakeDaemon(req -> "ACCEPTED\nERR\t1\twal-push " + fourth + ": No space left on device\tcheck free space\n",
                () -> push("pg_wal/" + fourth));
        assertEquals(1, full.exitCode(), full::toString);
        assertTrue(full.err().contains("No space left on device") && full.err().contains("hint: check free space"), full::toString);
        assertFalse(Files.exists(repo().resolve("wal/00000001/" + fourth + ".zst")));

        // and a real daemon starts over the stale socket
        Running d = startDaemon();
        try {
            Files.write(pgwal.resolve(fourth), segment(6));
            CliRun ok = push("pg_wal/" + fourth);
            assertEquals(0, ok.exitCode(), ok::toString);
        } finally {
            assertEquals(1, d.stopNow().archived());
        }
    }

    /** Runs {@code body} while a stand-in daemon answers each request with {@code reply} and hangs up. */
    private CliRun withFakeDaemon(Function<String, String> reply, java.util.concurrent.Callable<CliRun> body) throws Exception {
        Files.deleteIfExists(socket());
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket()));
            CompletableFuture<Void> serving = CompletableFuture.runAsync(() -> {
                try (SocketChannel c = server.accept()) {
                    ByteBuffer in = ByteBuffer.allocate(8192);
                    c.read(in);
                    String req = new String(in.array(), 0, in.position(), StandardCharsets.UTF_8);
                    c.write(ByteBuffer.wrap(reply.apply(req).getBytes(StandardCharsets.UTF_8)));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            CliRun r = body.call();
            serving.get(10, TimeUnit.SECONDS);
            return r;
        } finally {
            Files.deleteIfExists(socket());
        }
    }
}
