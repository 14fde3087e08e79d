package dev.chronodr.wal;

import java.nio.file.Path;
import java.util.function.Supplier;

import dev.chronodr.core.ChronoException;
import dev.chronodr.crypto.Recipients;
import dev.chronodr.crypto.SecretKeys;
import dev.chronodr.repo.Repository;
import dev.chronodr.repo.WalArchive;

/**
 * wal-push and wal-fetch: no config, no connection; they run as the server's OS user.
 * Encryption (issue 19) comes from their flags: public keys to push, a secret key to fetch.
 */
public final class WalService {
    /** The suffix of a segment stored while still being received (wal-receive). */
    public static final String PARTIAL = dev.chronodr.repo.WalArchive.PARTIAL_SEGMENT;

    private WalService() {
    }

    public static WalPushResult push(Path repo, Path file) {
        return push(new Repository(repo), file);
    }

    /** Into any repository, a bucket included. */
    public static WalPushResult push(Repository repo, Path file) {
        return push(repo, file, null);
    }

    /**
     * The same, encrypted to {@code recipients} after compression (null: not encrypted). The
     * one push path: wal-push, wal-receive and anything else that archives a segment call it.
     */
    public static WalPushResult push(Repository repo, Path file, Recipients recipients) {
        long t0 = System.nanoTime();
        WalArchive.Pushed p = new WalArchive(repo).push(file, recipients);
        return WalPushResult.of(p, (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * A segment missing from the archive is handed out from its {@code NAME.partial} when
     * only that is there (wal-receive stores the segment it is receiving so).
     * {@code until}: the last segment to hand out (null: any). A point-in-time restore
     * sets it to the last segment it read before starting recovery, so the server replays
     * nothing archived since; later segments are "not in the archive" to it.
     */
    public static WalFetchResult fetch(Path repo, String name, Path dest, String until) {
        return fetch(new Repository(repo), name, dest, until);
    }

    public static WalFetchResult fetch(Repository repo, String name, Path dest, String until) {
        return fetch(repo, name, dest, until, () -> null);
    }

    /**
     * {@code keys}: unlocks the secret key (--decrypt-key), asked only when the file is
     * encrypted: recovery probes many names that are not archived, and each unlock costs a
     * passphrase hash. Null from it: an encrypted file fails with exit 3 naming its key.
     */
    public static WalFetchResult fetch(Repository repo, String name, Path dest, String until, Supplier<SecretKeys> keys) {
        if (until != null && !WalArchive.isSegmentName(until)) {
            throw ChronoException.usage("--until '" + until + "' is not a WAL segment name", "give 24 hex digits, e.g. 000000010000000000000003");
        }
        if (until != null && WalArchive.isSegmentName(name) && name.substring(8).compareTo(until.substring(8)) > 0) {
            return new WalFetchResult(name, dest.toString(), false, 0, "past --until " + until);
        }
        WalArchive archive = new WalArchive(repo);
        java.util.Optional<Long> got = archive.fetch(name, dest, keys);
        if (got.isEmpty() && WalArchive.isSegmentName(name)) {
            // wal-receive's newest segment, still being written when it was stored: zero-padded to full size like
            // pg_receivewal's, so the server replays its records and ends recovery where they end
            got = archive.fetch(name + PARTIAL, dest, keys);
        }
        return got.map(n -> new WalFetchResult(name, dest.toString(), true, n, null))
                .orElseGet(() -> new WalFetchResult(name, dest.toString(), false, 0, null));
    }
}
