package dev.chronodr.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.testing.CliRun;

/**
 * wal-fetch's look-ahead through the real command line: asking for one segment spools the next
 * ones in the background (a second JVM, as on a server); the spooled copies are handed over
 * byte for byte; a spooled file changed after it was checked, or another cluster's file under
 * the same name, is refused and the archive's copy handed over instead; --until bounds it, and
 * the end of the archive empties the spool.
 */
class FetchAheadTest {
    private static final int SIZE = 1 << 20; // initdb --wal-segsize=1

    @TempDir
    Path tmp;

    private final List<byte[]> segments = new ArrayList<>();

    private static String seg(int i) {
        return String.format("00000001%08X%08X", 0, i);
    }

    private Map<String, String> env() {
        return Map.of("PATH", System.getenv("PATH"));
    }

    private Path repo() {
        return tmp.resolve("repo");
    }

    private Path data() {
        return tmp.resolve("data");
    }

    private Path spool() {
        return data().resolve(".chrono-dr-fetch-ahead");
    }

    private CliRun fetch(String name, String... more) {
        List<String> args = new ArrayList<>(List.of("wal-fetch", "--repo", repo().toString(), "--lookahead", "3"));
        args.addAll(List.of(more));
        args.addAll(List.of(name, "pg_wal/RECOVERYXLOG"));
        return CliRun.run(env(), data(), args.toArray(String[]::new));
    }

    private void awaitSpooled(String... names) throws InterruptedException {
        for (int i = 0; i < 3000; i++) {
            if (java.util.Arrays.stream(names).allMatch(n -> Files.exists(spool().resolve(n)))) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("not spooled within 30 s: " + List.of(names) + ", log: " + log());
    }

    private String log() {
        try {
            return Files.readString(spool().resolve("prefetch.log"));
        } catch (Exception e) {
            return e.toString();
        }
    }

    @Test
    void theNextSegmentsAreSpooledVerifiedAndATamperedOrForeignCopyIsRefused() throws Exception {
        Files.createDirectories(data().resolve("pg_wal"));
        for (int i = 1; i <= 5; i++) {
            byte[] b = new byte[SIZE];
            new Random(i).nextBytes(b);
            segments.add(b);
            Path f = tmp.resolve(seg(i));
            Files.write(f, b);
            CliRun p = CliRun.run(env(), tmp, "wal-push", "--repo", repo().toString(), f.toString());
            assertEquals(0, p.exitCode(), p::toString);
        }
        Path dest = data().resolve("pg_wal/RECOVERYXLOG");

        CliRun first = fetch(seg(1));
        assertEquals(0, first.exitCode(), first::toString);
        assertArrayEquals(segments.get(0), Files.readAllBytes(dest));
        awaitSpooled(seg(2), seg(3), seg(4));
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(spool())));

        // 2 from the spool, as it is
        CliRun second = fetch(seg(2));
        assertEquals(0, second.exitCode(), second::toString);
        assertArrayEquals(segments.get(1), Files.readAllBytes(dest));
        assertFalse(Files.exists(spool().resolve(seg(2))), "handed over by a move, not copied");
        assertEquals("", second.err(), second::toString);

        // 3 changed in the spool after it was checked: refused, the archive's copy handed over instead
        awaitSpooled(seg(3), seg(4));
        byte[] tampered = Files.readAllBytes(spool().resolve(seg(3)));
        tampered[1000] ^= 1;
        Files.write(spool().resolve(seg(3)), tampered);
        CliRun third = fetch(seg(3));
        assertEquals(0, third.exitCode(), third::toString);
        assertArrayEquals(segments.get(2), Files.readAllBytes(dest));
        assertTrue(third.err().contains("spooled copy of " + seg(3)) && third.err().contains("does not match the archive's SHA-256"), third::toString);

        // another cluster's segment 4 left in the spool under the same name: refused likewise
        awaitSpooled(seg(4));
        byte[] foreign = new byte[SIZE];
        new Random(99).nextBytes(foreign);
        Files.write(spool().resolve(seg(4)), foreign);
        // the fast path main() takes before picocli refuses it too, and leaves the fetch to the full command
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        int fast = FetchAhead.fastTake(new String[] {"wal-fetch", "--repo", repo().toString(), "--until", seg(4), seg(4), "pg_wal/RECOVERYXLOG"},
                new java.io.PrintWriter(out), new java.io.PrintWriter(err), new dev.chronodr.core.Environment(env(), data()));
        assertEquals(-1, fast, out::toString);
        assertTrue(err.toString().contains("does not match"), err::toString);
        assertArrayEquals(segments.get(2), Files.readAllBytes(dest), "nothing handed over");
        CliRun fourth = fetch(seg(4));
        assertEquals(0, fourth.exitCode(), fourth::toString);
        assertArrayEquals(segments.get(3), Files.readAllBytes(dest));

        // the end of the archive: not found, and the spool emptied
        CliRun fifth = fetch(seg(5));
        assertEquals(0, fifth.exitCode(), fifth::toString);
        assertArrayEquals(segments.get(4), Files.readAllBytes(dest));
        CliRun end = fetch(seg(6));
        assertEquals(1, end.exitCode(), end::toString);
        try (var ls = Files.list(spool())) {
            assertEquals(List.of(), ls.map(p -> p.getFileName().toString()).filter(WalFetchAheadNames::segment).toList());
        }

        // --until: nothing past it is spooled or handed over
        Files.walk(spool()).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        CliRun bounded = fetch(seg(1), "--until", seg(2));
        assertEquals(0, bounded.exitCode(), bounded::toString);
        awaitSpooled(seg(2));
        Thread.sleep(2000); // a prefetcher that ignored --until would have spooled 3 by now
        assertFalse(Files.exists(spool().resolve(seg(3))), log());
        CliRun past = fetch(seg(3), "--until", seg(2));
        assertEquals(1, past.exitCode(), past::toString);
    }

    /** Segment names, as the spool keeps them. */
    private static final class WalFetchAheadNames {
        static boolean segment(String f) {
            return f.matches("[0-9A-F]{24}");
        }
    }
}
