package dev.chronodr.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.chronodr.core.ChronoException;
import dev.chronodr.core.ExitCode;
import dev.chronodr.core.Secret;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.crypto.SecretKeys;
import dev.chronodr.testing.Gpg;

/**
 * wal-receive stores the segment it is receiving as NAME.partial again and again. Losing the
 * receiver's host at any moment must leave a version of it in the archive, one its sidecar
 * vouches for: the old way (delete, then store) left none for the 0.2 to 1.2 s a store takes
 * (bench/wal-stream.sh: 16-18% of the time, and crashes that lost the whole segment).
 */
class WalPartialReplaceTest {
    private static final String NAME = "000000010000000000000005.partial";
    private static final int SIZE = 256 << 10;

    @TempDir
    Path dir;

    @Test
    void readersAlwaysFindAVouchedVersionWhileThePartialIsReplacedAndEncryptionIsSwitched() throws Exception {
        try (Gpg gpg = Gpg.create(Files.createDirectories(dir.resolve("gpg")), "pass")) {
            String fpr = gpg.generate("DR <dr@example.org>", "ed25519", "cv25519", "never");
            Recipients to = Recipients.load(List.of(gpg.exportPublic(fpr, dir.resolve("k.pub.asc"))));
            SecretKeys keys = SecretKeys.load(gpg.exportSecret(fpr, dir.resolve("k.sec.asc")), Secret.of("pass"));
            Path repo = dir.resolve("repo");
            Path spool = Files.createDirectories(dir.resolve("spool"));
            WalArchive archive = new WalArchive(repo);
            Path partial = spool.resolve(NAME);
            Files.write(partial, version(0));
            archive.replacePartial(partial, null);

            AtomicBoolean writing = new AtomicBoolean(true);
            AtomicInteger written = new AtomicInteger(1);
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            AtomicInteger reads = new AtomicInteger();
            Thread writer = new Thread(() -> {
                try {
                    for (int v = 1; v <= 90; v++) {
                        Files.write(partial, version(v));
                        // encryption on for versions 30-59: the kind of the stored file changes twice
                        archive.replacePartial(partial, v >= 30 && v < 60 ? to : null);
                        written.set(v + 1);
                    }
                } catch (Exception e) {
                    problems.add("writer: " + e);
                } finally {
                    writing.set(false);
                }
            });
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                Path dest = dir.resolve("fetched-" + r);
                boolean checker = r == 1;
                readers.add(new Thread(() -> {
                    while (writing.get() && problems.size() < 5) {
                        try {
                            int before = written.get();
                            if (checker) {
                                archive.check(NAME, keys).ifPresent(p -> problems.add("check: " + p));
                            } else {
                                Files.deleteIfExists(dest);
                                Optional<Long> got = archive.fetch(NAME, dest, () -> keys);
                                if (got.isEmpty()) {
                                    problems.add("fetch found no " + NAME + " after version " + before);
                                    continue;
                                }
                                byte[] b = Files.readAllBytes(dest);
                                int v = ByteBuffer.wrap(b).getInt();
                                if (!Arrays.equals(b, version(v)) || v < before - 1 || v > written.get()) {
                                    problems.add("fetch gave version " + v + " (" + before + " stored before the read began)");
                                }
                            }
                            reads.incrementAndGet();
                        } catch (Exception e) {
                            problems.add((checker ? "check: " : "fetch: ") + e.getMessage());
                        }
                    }
                }));
            }
            writer.start();
            readers.forEach(Thread::start);
            writer.join();
            for (Thread t : readers) {
                t.join();
            }
            assertEquals(List.of(), new ArrayList<>(problems), "every read of the partial segment found a sound version");
            assertTrue(reads.get() > 20, "the readers ran beside the writer: " + reads.get() + " reads");

            // the end state: the last version, plain, alone with its sidecar
            Path dest = dir.resolve("last");
            archive.fetch(NAME, dest, () -> null);
            assertTrue(Arrays.equals(version(90), Files.readAllBytes(dest)));
            Path tl = repo.resolve("wal/00000001");
            try (var ls = Files.list(tl)) {
                assertEquals(List.of(NAME + ".sha256", NAME + ".zst"), ls.map(p -> p.getFileName().toString()).sorted().toList(),
                        "no encrypted leftover, no temp file, no snapshot");
            }
            WalSums sums = WalSums.parse(Files.readString(tl.resolve(NAME + ".sha256")), NAME, ".zst.gpg");
            assertEquals(1, sums.contents().size(), "the sidecar vouches for the last version only: " + sums);
            assertEquals(SIZE, sums.written(), "and says how far it holds WAL");
        }
    }

    @Test
    void aDamagedPartialIsStillReportedAndOnlyPartialSegmentsAreReplaced() throws Exception {
        Path repo = dir.resolve("repo");
        WalArchive archive = new WalArchive(repo);
        Path partial = Files.write(dir.resolve(NAME), version(1));
        archive.replacePartial(partial, null);
        Files.write(partial, version(2));
        archive.replacePartial(partial, null);
        Path stored = repo.resolve("wal/00000001/" + NAME + ".zst");
        byte[] b = Files.readAllBytes(stored);
        b[b.length / 2] ^= 0x55;
        Files.write(stored, b);
        ChronoException e = assertThrows(ChronoException.class, () -> archive.fetch(NAME, dir.resolve("out"), () -> null));
        assertEquals(ExitCode.CRITICAL, e.exitCode(), "damage is not a replacement in progress: the retries give up");
        assertFalse(Files.exists(dir.resolve("out")), "nothing handed to the server");
        assertTrue(archive.check(NAME, null).isPresent());

        // how far a zero-padded partial holds WAL is in its sidecar, for monitor (which has no key for an encrypted one)
        byte[] padded = new byte[SIZE];
        Arrays.fill(padded, 0, 1001, (byte) 7);
        Files.write(partial, padded);
        archive.replacePartial(partial, null);
        assertEquals(Optional.of(1008L), archive.recordedWrittenBytes(NAME), "past the last non-zero byte, rounded up to 8");

        Path segment = Files.write(dir.resolve("000000010000000000000005"), version(3));
        assertThrows(IllegalArgumentException.class, () -> archive.replacePartial(segment, null),
                "a completed segment is written once, never replaced");
    }

    @Test
    void aStoreKilledAfterAnyStepLeavesAVersionThatIsHandedOut() throws Exception {
        // what each step of a replacement leaves, as a kill -9 (or a full disk) right after it would: built from the
        // bytes a finished store of each version writes
        Path partial = Files.write(dir.resolve(NAME), version(1));
        Path one = dir.resolve("one");
        new WalArchive(one).replacePartial(partial, null);
        Files.write(partial, version(2));
        Path two = dir.resolve("two");
        new WalArchive(two).replacePartial(partial, null);
        String tl = "wal/00000001/";
        byte[] sums1 = Files.readAllBytes(one.resolve(tl + NAME + ".sha256"));
        byte[] sums2 = Files.readAllBytes(two.resolve(tl + NAME + ".sha256"));
        byte[] data2 = Files.readAllBytes(two.resolve(tl + NAME + ".zst"));
        Path sidecar = one.resolve(tl + NAME + ".sha256");
        Path data = one.resolve(tl + NAME + ".zst");
        WalArchive archive = new WalArchive(one);
        Path got = dir.resolve("got");

        Files.write(sidecar, WalSums.both(sums2, sums1)); // killed after the sidecar vouched for both
        assertTrue(archive.fetch(NAME, got, () -> null).isPresent());
        assertTrue(Arrays.equals(version(1), Files.readAllBytes(got)), "the old version, still vouched for");
        assertEquals(Optional.empty(), archive.check(NAME, null));

        Files.delete(got);
        Files.write(data, data2); // killed after the data was renamed over
        assertTrue(archive.fetch(NAME, got, () -> null).isPresent());
        assertTrue(Arrays.equals(version(2), Files.readAllBytes(got)), "the new version");
        assertEquals(Optional.empty(), archive.check(NAME, null));

        Files.write(partial, version(3)); // the next store after the restart settles it
        archive.replacePartial(partial, null);
        WalSums settled = WalSums.parse(Files.readString(sidecar), NAME, ".zst.gpg");
        assertEquals(1, settled.contents().size(), "one version vouched for again: " + settled);
    }

    @Test
    void aCopyToAnotherRepositoryFollowsThePartialAsItIsReplaced() throws Exception {
        Repository from = Repository.open(RepoLocation.local(dir.resolve("local")));
        Repository to = Repository.open(RepoLocation.local(dir.resolve("offsite")));
        WalArchive source = new WalArchive(from);
        Path partial = Files.write(dir.resolve(NAME), version(1));
        source.replacePartial(partial, null);
        RepositoryCopy.Outcome first = RepositoryCopy.run(from, to, new RepositoryCopy.Selection(null, true));
        assertEquals(List.of(), first.problems());
        assertEquals(1, first.walCopied());

        Files.write(partial, version(2));
        source.replacePartial(partial, null);
        RepositoryCopy.Outcome second = RepositoryCopy.run(from, to, new RepositoryCopy.Selection(null, true));
        assertEquals(List.of(), second.problems(), "a newer version of a partial segment is not a conflict");
        assertEquals(1, second.walCopied());
        Path got = dir.resolve("got");
        new WalArchive(to).fetch(NAME, got, () -> null);
        assertTrue(Arrays.equals(version(2), Files.readAllBytes(got)), "the destination holds the newer version");
        RepositoryCopy.Outcome third = RepositoryCopy.run(from, to, new RepositoryCopy.Selection(null, true));
        assertEquals(1, third.walPresent(), "the same version is present, not copied again");
        assertEquals(ExitCode.OK, third.exit());
    }

    /** Version v of the partial segment: v in its first 4 bytes, then bytes seeded by v. */
    private static byte[] version(int v) {
        byte[] b = new byte[SIZE];
        new Random(v).nextBytes(b);
        ByteBuffer.wrap(b).putInt(v);
        return b;
    }
}
